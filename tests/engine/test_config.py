"""engine.config and engine.storage.configs: declared configuration, stored per tenant and user,
validated the same way everywhere, secrets encrypted, ``not_configured`` when missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, tenant_context

from conditions import Context
from conditions import cache as switchyard_cache
from engine import Registry, Strategy, secrets
from engine.config import MAX_VALUE_LENGTH, SecretField, StrategyConfig
from engine.explain import RegistryExplanation
from engine.models import ConfigurationHistory, Selection, StrategyConfiguration
from engine.namespace import StrategyNamespace
from engine.resolution import Reason, SkipReason
from engine.storage import cache
from tenants.models import Tenant
from tests.helpers import make_user
from tests.transactions import settled

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")

SECRET = "sk_live_0123456789abcdef"


class Calls:
    """How often the provider check of ``Stripe.Config.validate`` ran."""

    validated = 0


@pytest.fixture
def payments() -> type[Registry]:
    class Payments(Registry):
        key = "gateways"
        default = "card"

    class Card(Strategy):
        registry = Payments
        slug = "card"

    class Stripe(Strategy):
        registry = Payments
        slug = "stripe"

        class Config(StrategyConfig):
            publishable_key = forms.CharField(max_length=60)
            secret_key = SecretField()
            statement_descriptor = forms.CharField(max_length=22, required=False)

            def validate(self, context: Context) -> None:
                Calls.validated += 1
                if self.cleaned_data["secret_key"] == "sk_revoked_key_0000":
                    raise ValidationError("The provider refused this secret key.")
                if self.cleaned_data["secret_key"] == "sk_provider_down_00":
                    raise ConnectionError(f"cannot reach the provider with {SECRET}")

    return Payments


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant):
        Selection.objects.exists()
        yield free_tenant


def configure(registry: type[Registry], tenant: Tenant, select: bool = False, **values: Any) -> Any:
    data = {"publishable_key": "pk_live_1", "secret_key": SECRET, **values}
    return registry.configure("stripe", data, Context(tenant=tenant), via="test", select=select)


def test_a_configured_strategy_is_in_force_with_its_values(
    payments: type[Registry], acme: Tenant
) -> None:
    configure(payments, acme, statement_descriptor="ACME")
    payments.select("stripe", Context(tenant=acme))
    resolution = payments.resolve(Context(tenant=acme))
    assert resolution.slug == "stripe"
    config = resolution.strategy.config
    assert (config.publishable_key, config.secret_key) == ("pk_live_1", SECRET)
    assert config.statement_descriptor == "ACME"
    assert "sk_live" not in repr(config)  # repr masks
    with pytest.raises(AttributeError, match="Did you mean 'secret_key'"):
        config.secret_kye  # noqa: B018


def test_the_secret_is_stored_and_cached_encrypted_only(
    payments: type[Registry], acme: Tenant
) -> None:
    with settled():
        configure(payments, acme)
    row = StrategyConfiguration.objects.get()
    assert SECRET not in str(row.secrets) and row.secrets["secret_key"].startswith("gAAAA")
    assert row.values == {"publishable_key": "pk_live_1", "statement_descriptor": ""}
    payments.resolve(Context(tenant=acme))  # fills the cache
    entry = switchyard_cache.cache().get(cache.key_for("acme"))
    assert SECRET not in repr(entry)
    assert entry[2]["gateways"]["stripe"].secrets == row.secrets


def test_history_records_changes_with_secrets_masked(
    payments: type[Registry], acme: Tenant
) -> None:
    configure(payments, acme)
    configure(payments, acme, secret_key="")  # blank: keeps the secret, nothing changed
    configure(payments, acme, publishable_key="pk_live_2", secret_key="sk_live_new_key_9999")
    rows = list(ConfigurationHistory.objects.order_by("id"))
    assert len(rows) == 2
    assert rows[0].before is None
    assert rows[0].after == {
        "publishable_key": "pk_live_1",
        "secret_key": "••••cdef",
        "statement_descriptor": "",
    }
    assert rows[1].before["secret_key"] == "••••cdef"
    assert rows[1].after["secret_key"] == "••••9999"
    assert (rows[1].via, rows[1].slug) == ("test", "stripe")


def test_a_blank_secret_keeps_the_stored_one(payments: type[Registry], acme: Tenant) -> None:
    configure(payments, acme)
    token = StrategyConfiguration.objects.get().secrets["secret_key"]
    configure(payments, acme, publishable_key="pk_live_2", secret_key="")
    row = StrategyConfiguration.objects.get()
    assert row.secrets["secret_key"] == token
    assert row.values["publishable_key"] == "pk_live_2"


def test_the_same_secret_again_keeps_its_token(payments: type[Registry], acme: Tenant) -> None:
    configure(payments, acme)
    token = StrategyConfiguration.objects.get().secrets["secret_key"]
    configure(payments, acme)
    assert StrategyConfiguration.objects.get().secrets["secret_key"] == token
    assert ConfigurationHistory.objects.count() == 1


def test_an_unconfigured_strategy_is_not_available(payments: type[Registry], acme: Tenant) -> None:
    Selection.objects.create(registry="gateways", slug="stripe")  # stored before it needed keys
    resolution = payments.resolve(Context(tenant=acme))
    assert (resolution.slug, resolution.reason) == ("card", Reason.DEFAULT)
    (skipped,) = resolution.skipped
    assert skipped.why is SkipReason.NOT_CONFIGURED
    assert skipped.missing == ("publishable_key", "secret_key")
    assert "stripe needs publishable_key, secret_key" in str(skipped)
    assert payments.available(Context(tenant=acme)) == [payments.get("card")]
    offered = payments.available(Context(tenant=acme), configured=False)
    assert [s.slug for s in offered] == ["card", "stripe"]
    explanation: RegistryExplanation = payments.explain(Context(tenant=acme))
    assert not explanation["stripe"].available
    assert explanation["stripe"].not_configured == "stripe needs publishable_key, secret_key"
    assert "not_configured: stripe needs publishable_key" in str(explanation)
    assert explanation.as_dict()["strategies"][1]["missing"] == ["publishable_key", "secret_key"]


def test_selecting_an_unconfigured_strategy_is_refused(
    payments: type[Registry], acme: Tenant
) -> None:
    with pytest.raises(ValidationError) as raised:
        payments.select("stripe", Context(tenant=acme))
    assert raised.value.code == "not_configured"
    assert "stripe needs publishable_key, secret_key" in raised.value.messages[0]
    assert not Selection.objects.exists()


def test_configure_and_select_in_one_step(payments: type[Registry], acme: Tenant) -> None:
    payments.configure(
        "stripe",
        {"publishable_key": "pk", "secret_key": SECRET},
        Context(tenant=acme),
        select=True,
    )
    assert Selection.objects.get().slug == "stripe"
    assert payments.resolve(Context(tenant=acme)).strategy.config.secret_key == SECRET


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"publishable_key": ["a"], "secret_key": SECRET}, "publishable_key", "single value"),
        ({"publishable_key": {"a": 1}, "secret_key": SECRET}, "publishable_key", "got dict"),
        ({"publishable_key": "x" * 10**6, "secret_key": SECRET}, "publishable_key", "at most"),
        ({"publishable_key": "pk\x00", "secret_key": SECRET}, "publishable_key", "Null"),
        ({"publishable_key": "pk", "secret_key": "sk\x00"}, "secret_key", "Null"),
        ({"publishable_key": "x" * 61, "secret_key": SECRET}, "publishable_key", "at most 60"),
        ({"publishable_key": "pk"}, "secret_key", "required"),
        ({"publishable_key": "pk", "secret_key": SECRET, "extra": 1}, "__all__", "not a conf"),
        ({"publishable_key": "pk", "secret_key": "sk_revoked_key_0000"}, "__all__", "refused"),
    ],
)
def test_bad_configuration_is_refused_and_nothing_stored(
    payments: type[Registry], acme: Tenant, data: dict[str, Any], field: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        payments.configure("stripe", data, Context(tenant=acme), select=True)
    assert expected in " ".join(raised.value.message_dict[field])
    assert len(str(raised.value)) < MAX_VALUE_LENGTH
    assert not StrategyConfiguration.objects.exists()
    assert not ConfigurationHistory.objects.exists()
    assert not Selection.objects.exists()


def test_a_strategy_without_config_cannot_be_configured(
    payments: type[Registry], acme: Tenant
) -> None:
    with pytest.raises(ValidationError) as raised:
        payments.configure("card", {}, Context(tenant=acme))
    assert raised.value.code == "no_config"


def test_configuration_is_per_tenant(
    payments: type[Registry], free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    configure(payments, free_tenant, select=True)
    with schema_context("globex"):
        assert not StrategyConfiguration.objects.exists()
    assert payments.resolve(Context(tenant=pro_tenant)).slug == "card"
    assert payments.resolve(Context(tenant=free_tenant)).slug == "stripe"


def test_a_users_own_configuration_in_a_user_selectable_registry(acme: Tenant) -> None:
    class Alerts(Registry):
        key = "alerts"
        default = "email"
        user_selectable = True

    class Email(Strategy):
        registry = Alerts
        slug = "email"

    class Webhook(Strategy):
        registry = Alerts
        slug = "webhook"

        class Config(StrategyConfig):
            url = forms.URLField(assume_scheme="https")

    alice, bob = make_user(acme, "alice"), make_user(acme, "bob")
    with pytest.raises(ValidationError, match="webhook needs url"):
        Alerts.select("webhook", Context(tenant=acme, user=alice), alice)
    Alerts.configure(
        "webhook",
        {"url": "https://alice.example/hook"},
        Context(tenant=acme, user=alice),
        alice,
        select=True,
    )
    mine = Alerts.resolve(Context(tenant=acme, user=alice))
    assert (mine.slug, mine.strategy.config.url) == ("webhook", "https://alice.example/hook")
    assert Alerts.resolve(Context(tenant=acme, user=bob)).slug == "email"


def test_a_warm_read_is_one_round_trip_no_query_and_decrypts_once(
    payments: type[Registry],
    acme: Tenant,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with settled():
        configure(payments, acme, select=True)
    payments.resolve(Context(tenant=acme))  # warms the cache

    decrypted: list[str] = []
    original = secrets.decrypt
    monkeypatch.setattr(
        secrets, "decrypt", lambda token: decrypted.append(token) or original(token)
    )
    gets: list[Any] = []
    alias = switchyard_cache.cache()
    real_get_many = alias.get_many
    monkeypatch.setattr(alias, "get_many", lambda keys: gets.append(keys) or real_get_many(keys))
    with django_assert_num_queries(0):
        namespace = StrategyNamespace(Context(tenant=acme), connection_tenant=True)
        gateway = namespace.gateways
        assert decrypted == []  # nothing decrypted until read
        assert gateway.config.secret_key == SECRET
        assert gateway.config.secret_key == SECRET
        assert namespace.resolution("gateways", tenant_level=True).strategy.config.secret_key
    assert len(decrypted) == 1
    assert len(gets) == 1


def test_a_config_that_is_not_a_strategy_config_is_refused(payments: type[Registry]) -> None:
    from engine import RegistrationError

    with pytest.raises(RegistrationError, match=r"expected a subclass of engine\.StrategyConfig"):

        class Paypal(Strategy):
            registry = payments
            slug = "paypal"
            Config = dict


def test_clearing_removes_it_and_records_it(payments: type[Registry], acme: Tenant) -> None:
    configure(payments, acme, select=True)
    payments.clear_configuration("stripe", Context(tenant=acme), via="test")
    assert not StrategyConfiguration.objects.exists()
    last = ConfigurationHistory.objects.first()
    assert last is not None and last.after is None and last.before["secret_key"] == "••••cdef"
    assert payments.resolve(Context(tenant=acme)).slug == "card"
    assert connection.schema_name == "acme"


def test_the_async_twins(payments: type[Registry], acme: Tenant) -> None:
    from asgiref.sync import async_to_sync

    async def work() -> tuple[str, str]:
        context = Context(tenant=acme)
        await payments.aconfigure(
            "stripe", {"publishable_key": "pk", "secret_key": SECRET}, context, select=True
        )
        found = await payments.aconfiguration("stripe", Context(tenant=acme))
        namespace = StrategyNamespace(Context(tenant=acme))
        gateway = await namespace.aget("gateways")
        await payments.aclear_configuration("stripe", context)
        return found.values.secret_key, gateway.config.publishable_key

    assert async_to_sync(work)() == (SECRET, "pk")
    assert not StrategyConfiguration.objects.exists()


def test_a_cache_outage_falls_back_to_the_database(
    payments: type[Registry], acme: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    from django.test import override_settings

    from tests.engine.test_selections import UNREACHABLE_CACHES
    from tests.transactions import committed

    with override_settings(CACHES=UNREACHABLE_CACHES):
        with committed():
            configure(payments, acme, select=True)  # invalidation fails, the write stands
        resolution = payments.resolve(Context(tenant=acme))
        assert resolution.strategy.config.secret_key == SECRET
    assert "Error calling" not in caplog.text


def test_another_tenants_context_reads_that_tenants_configuration(
    payments: type[Registry], acme: Tenant, pro_tenant: Tenant
) -> None:
    with settled():
        configure(payments, pro_tenant, select=True, publishable_key="pk_globex")
        configure(payments, acme, select=True, publishable_key="pk_acme")
    assert connection.schema_name == "acme"
    for _ in range(2):  # cold, then from the cache
        globex = payments.resolve(Context(tenant=pro_tenant)).strategy
        assert globex.config.publishable_key == "pk_globex"
        assert payments.resolve(Context(tenant=acme)).strategy.config.publishable_key == "pk_acme"


def test_a_failing_provider_check_is_a_validation_error_that_shows_no_secret(
    payments: type[Registry], acme: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ValidationError) as raised:
        configure(payments, acme, secret_key="sk_provider_down_00")
    assert raised.value.message_dict["__all__"] == [
        "The configuration could not be checked (ConnectionError); try again later."
    ]
    assert "ConnectionError" in caplog.text and SECRET not in caplog.text
    assert "sk_provider_down" not in caplog.text
    assert not StrategyConfiguration.objects.exists()


def test_many_unknown_names_make_a_short_error(payments: type[Registry], acme: Tenant) -> None:
    data = {f"field{i}": "x" for i in range(10_000)}
    with pytest.raises(ValidationError) as raised:
        payments.configure("stripe", data, Context(tenant=acme))
    messages = raised.value.message_dict["__all__"]
    assert len(messages) == 4 and messages[-1] == "9997 more names are not configuration fields."
