"""engine.exceptions: errors name what is at fault, suggest, and repeat only a short prefix."""

from __future__ import annotations

from engine.exceptions import UnknownRegistry, UnknownStrategy


def test_unknown_registry_suggests_the_closest_key() -> None:
    error = UnknownRegistry("paymnts", ["payments", "exports"])
    assert str(error) == (
        "No registry has the key 'paymnts'. Did you mean 'payments'? "
        "Known keys: 'exports', 'payments'."
    )


def test_huge_names_are_echoed_shortened() -> None:
    huge = "p" * 2_000_000
    registry = UnknownRegistry(huge, ["payments"])
    strategy = UnknownStrategy("payments", huge, ["card"])
    shown = f"{'p' * 40 + '…'!r} (2000000 characters)"
    assert str(registry) == f"No registry has the key {shown}. Known keys: 'payments'."
    assert str(strategy) == f"Unknown strategy {shown} in 'payments'. Known strategies: 'card'."
    assert registry.key == huge  # the exception keeps the value itself


def test_control_characters_are_escaped() -> None:
    assert "'ev\\x00il\\x1b'" in str(UnknownStrategy("payments", "ev\x00il\x1b", ["card"]))
