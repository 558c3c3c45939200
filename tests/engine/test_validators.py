"""engine.validators: what a selection row may hold; bad values are named, shortened."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from engine.validators import validate_registry_key, validate_slug, validate_via


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, "Strategy slug must be a string, got int."),
        ("", "Strategy slug '' is not valid: expected 1 to 100 characters, no spaces."),
        ("a b", "Strategy slug 'a b' is not valid: expected 1 to 100 characters, no spaces."),
        (
            "x" * 10000,
            f"Strategy slug {'x' * 40 + '…'!r} (10000 characters) is not valid: expected 1 to "
            "100 characters, no spaces.",
        ),
        ("ev\x00il", "Strategy slug 'ev\\x00il' is not valid: it contains control characters."),
        ("\x1b[31m", "Strategy slug '\\x1b[31m' is not valid: it contains control characters."),
    ],
    ids=["not-a-string", "empty", "space", "huge", "nul", "escape"],
)
def test_bad_slugs_are_named_shortened_and_escaped(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_slug(value)
    assert raised.value.messages == [message]
    assert raised.value.code == "invalid_slug"


def test_registry_keys_and_vias_are_checked_alike() -> None:
    with pytest.raises(ValidationError, match=r"Registry key 'k{40}…' \(101 characters\)"):
        validate_registry_key("k" * 101)
    with pytest.raises(ValidationError, match="expected 1 to 32 characters"):
        validate_via("v" * 33)
    validate_registry_key("payments")
    validate_slug("card")
    validate_via("api")
