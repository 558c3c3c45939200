"""conditions.conf: the one SWITCHYARD settings object (engine.conf re-exports it)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from conditions.conf import DEFAULTS, settings
from engine import conf as engine_conf


def test_engine_conf_is_the_same_object() -> None:
    assert engine_conf.settings is settings
    # Apps built on conditions add their keys: the engine's and the tenants app's are known.
    assert {"CACHE", "STALENESS_BOUND", "STRATEGIES_MODULE", "PLANS"} <= DEFAULTS.keys()


def test_user_values_override_the_defaults_and_follow_override_settings() -> None:
    with override_settings(SWITCHYARD={"CACHE": "default", "STALENESS_BOUND": 3}):
        assert settings.CACHE == "default"
        assert settings.STALENESS_BOUND == 3
        assert DEFAULTS["CACHE_RETRY_AFTER"] == settings.CACHE_RETRY_AFTER
    assert settings.CACHE == "switchyard"  # the test settings' value is back


def test_a_read_is_kept_as_an_attribute_until_switchyard_changes() -> None:
    value = settings.STALENESS_BOUND
    assert vars(settings)["STALENESS_BOUND"] == value  # later reads skip __getattr__
    settings.reload()
    assert "STALENESS_BOUND" not in vars(settings)
    assert settings._cached is None  # the class's default: a racing read merges again
    assert value == settings.STALENESS_BOUND


def test_a_typo_is_a_system_check_error_and_reads_use_the_defaults() -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "CACHE_TIMOUT": 5}):
        assert DEFAULTS["CACHE_TIMEOUT"] == settings.CACHE_TIMEOUT  # no exception on read
        errors = [m for m in run_checks() if m.id == "switchyard.E005"]
    assert len(errors) == 1
    assert "'CACHE_TIMOUT'" in errors[0].msg
    assert "Did you mean 'CACHE_TIMEOUT'?" in errors[0].msg


def test_a_setting_that_is_not_a_dict_is_reported_and_reads_use_the_defaults() -> None:
    with override_settings(SWITCHYARD=["CACHE"]):
        assert DEFAULTS["CACHE"] == settings.CACHE
        assert [m.id for m in run_checks() if m.id.startswith("switchyard.E006")]


def test_an_unknown_name_read_in_code_names_the_closest_key() -> None:
    with pytest.raises(AttributeError, match="Did you mean 'CACHE_TIMEOUT'"):
        settings.CACHE_TIMEOTU  # noqa: B018


@pytest.mark.parametrize(
    ("key", "value"),
    [("STALENESS_BOUND", 0), ("STALENESS_BOUND", "10"), ("CACHE_RETRY_AFTER", -1)],
)
def test_malformed_values_are_system_check_errors(key: str, value: object) -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", key: value}):
        messages = [m.msg for m in run_checks() if m.id == "switchyard.E006"]
    assert any(key in message for message in messages)
