"""Configuration through the commands (switchyard_configure, switchyard_rotate_secrets) and the
system checks of the keys (switchyard.E050, E051)."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django import forms
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django_tenants.utils import tenant_context

from engine import Registry, Strategy, secrets
from engine.checks import check_secret_keys
from engine.config import SecretField, StrategyConfig
from engine.models import ConfigurationHistory, Selection, StrategyConfiguration
from tenants.models import Tenant

OLD_KEY = "27tDmwog4t0dAKnI_QZdGp2fZmO9_g8SVTVu6gTX8M4="
NEW_KEY = Fernet.generate_key().decode()
SECRET = "whsec_abcdefghijkl7890"


@pytest.fixture
def hooks(switchyard_isolated_registries: None) -> Iterator[type[Registry]]:
    class Hooks(Registry):
        key = "hooks"
        default = "none"

    class Nothing(Strategy):
        registry = Hooks
        slug = "none"

    class Webhook(Strategy):
        registry = Hooks
        slug = "webhook"

        class Config(StrategyConfig):
            url = forms.URLField(assume_scheme="https")
            signing_secret = SecretField(min_length=8)

    yield Hooks


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_configure_command_stores_validates_and_masks(
    hooks: type[Registry], free_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    text = run(
        "switchyard_configure", "hooks", "webhook", "url=https://acme.example/hook",
        "--secret-from-env", "signing_secret=HOOK_SECRET", "--tenant", "acme", "--select",
    )  # fmt: skip
    assert "signing_secret=••••7890" in text and SECRET not in text
    with tenant_context(free_tenant):
        assert Selection.objects.get(registry="hooks").slug == "webhook"
        assert ConfigurationHistory.objects.get().via == "command"
    with pytest.raises(CommandError, match="url: Enter a valid URL") as raised:
        run("switchyard_configure", "hooks", "webhook", "url=not a url", "--tenant", "acme")
    assert raised.value.returncode == 1
    with tenant_context(free_tenant):
        assert StrategyConfiguration.objects.get().values["url"] == "https://acme.example/hook"
    shown = run("switchyard_configure", "hooks", "webhook", "--show", "--tenant", "acme")
    assert "url=https://acme.example/hook, signing_secret=••••7890" in shown


def test_configure_command_refuses_unknown_strategies_and_fields(
    hooks: type[Registry], free_tenant: Tenant
) -> None:
    with pytest.raises(CommandError, match="Did you mean 'webhook'"):
        run("switchyard_configure", "hooks", "webhok", "url=x", "--tenant", "acme")
    with pytest.raises(CommandError, match="'uri' is not a configuration field"):
        run("switchyard_configure", "hooks", "webhook", "uri=x", "--tenant", "acme")
    with tenant_context(free_tenant):
        assert not StrategyConfiguration.objects.exists()


def test_rotation_re_encrypts_with_the_new_key_and_old_keys_can_go(
    hooks: type[Registry], free_tenant: Tenant
) -> None:
    from conditions import Context

    hooks.configure(
        "webhook",
        {"url": "https://a.example", "signing_secret": SECRET},
        Context(tenant=free_tenant),
    )
    switchyard = {"CACHE": "switchyard", "STALENESS_BOUND": 3600}
    with override_settings(SWITCHYARD={**switchyard, "SECRET_KEYS": [NEW_KEY, OLD_KEY]}):
        assert "Re-encrypted 1 configuration(s)" in run("switchyard_rotate_secrets")
        assert "Re-encrypted 0 configuration(s)" in run("switchyard_rotate_secrets")
    with override_settings(SWITCHYARD={**switchyard, "SECRET_KEYS": [NEW_KEY]}):
        config = hooks.resolve(Context(tenant=free_tenant))
        assert config.slug == "none"  # selection not made; read the configuration directly
        values = hooks.configuration("webhook", Context(tenant=free_tenant)).values
        assert values.signing_secret == SECRET
    with override_settings(SWITCHYARD={**switchyard, "SECRET_KEYS": [OLD_KEY]}):
        with pytest.raises(CommandError, match="could not be decrypted") as raised:
            run("switchyard_rotate_secrets", "--tenant", "acme")
        assert raised.value.returncode == 1


def test_the_checks_want_a_valid_key_when_a_strategy_has_secrets(hooks: type[Registry]) -> None:
    assert check_secret_keys() == []
    switchyard = {"CACHE": "switchyard"}
    with override_settings(SWITCHYARD={**switchyard, "SECRET_KEYS": []}):
        (error,) = check_secret_keys()
        assert error.id == "switchyard.E050" and "Webhook" in error.msg
        with pytest.raises(secrets.SecretError, match="SECRET_KEYS"):
            secrets.encrypt("x")
    with override_settings(SWITCHYARD={**switchyard, "SECRET_KEYS": ["not-a-key"]}):
        assert [e.id for e in check_secret_keys()] == ["switchyard.E051"]


def test_masks_show_at_most_the_last_four_characters() -> None:
    assert secrets.mask("short") == "••••"
    assert secrets.mask("sk_live_0123456789") == "••••6789"
    assert secrets.mask("") == ""


def test_the_doctor_reports_a_selection_waiting_for_its_configuration(
    hooks: type[Registry], free_tenant: Tenant
) -> None:
    import json

    with tenant_context(free_tenant):
        Selection.objects.create(registry="hooks", slug="webhook")  # stored before it needed one
    out = StringIO()
    call_command("switchyard_doctor", "--tenant", "acme", "--format", "json", stdout=out)
    (finding,) = [f for f in json.loads(out.getvalue())["findings"] if f["registry"] == "hooks"]
    assert finding["code"] == "not_configured"
    assert "webhook needs url, signing_secret" in finding["message"]


def test_explain_command_says_what_is_missing(hooks: type[Registry], free_tenant: Tenant) -> None:
    text = run("switchyard_explain", "hooks", "--tenant", "acme")
    assert "✗ webhook" in text and "not_configured: webhook needs url, signing_secret" in text
