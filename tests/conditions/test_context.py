"""Context: strict mode follows SWITCHYARD["STRICT_CONDITIONS"] unless given."""

from __future__ import annotations

from django.test import RequestFactory
from django.test.utils import override_settings

from conditions import Context


def test_strict_defaults_to_the_setting_read_at_call_time() -> None:
    assert Context().strict is False
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "STRICT_CONDITIONS": True}):
        assert Context().strict is True
        assert Context.from_request(RequestFactory().get("/")).strict is True
        assert Context(strict=False).strict is False
    assert Context.from_request(RequestFactory().get("/"), strict=True).strict is True


def test_extra_values_are_attributes() -> None:
    context = Context(now=1)
    assert context.now == 1
    try:
        context.later  # noqa: B018
    except AttributeError as error:
        assert "extra values are: now" in str(error)
    else:
        raise AssertionError("expected AttributeError")
