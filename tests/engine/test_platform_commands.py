"""switchyard_sync, switchyard_disable and switchyard_enable: idempotent, audited, hostile-safe."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from engine.catalogue import registries
from engine.models import StrategyState, StrategyStateChange
from engine.platform.sync import sync_after_migrate
from tenants.models import Tenant


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def fails(*args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert caught.value.returncode == 2
    return caught.value


def registered() -> set[tuple[str, str]]:
    return {(key, slug) for key, registry in registries().items() for slug in registry.slugs()}


def rows() -> set[tuple[str, str]]:
    return set(StrategyState.objects.values_list("registry", "slug"))


def test_sync_creates_the_missing_rows_and_is_idempotent(db: None) -> None:
    StrategyState.objects.filter(registry="payments").delete()
    out = run("switchyard_sync")
    assert "created: payments.card, payments.stripe, payments.invoice, payments.crypto" in out
    assert rows() == registered()
    assert run("switchyard_sync") == "in sync: nothing to do\n"
    card = StrategyState.objects.get(registry="payments", slug="card")
    assert (card.status, card.priority, card.label, card.changed_by) == (
        "active",
        None,
        "Credit card",
        "sync",
    )


def test_sync_never_changes_the_platforms_decisions_and_update_refreshes_labels(db: None) -> None:
    run("switchyard_disable", "payments.crypto", "--note", "outage", "--by", "ops")
    StrategyState.objects.filter(registry="payments", slug="crypto").update(label="Old label")
    assert "in sync" in run("switchyard_sync")  # create-only by default
    assert "updated: payments.crypto" in run("switchyard_sync", "--update")
    crypto = StrategyState.objects.get(registry="payments", slug="crypto")
    assert (crypto.status, crypto.note, crypto.label) == ("disabled", "outage", "Crypto (beta)")
    assert "in sync" in run("switchyard_sync", "--update")


def test_stale_rows_are_kept_and_shown_until_pruned(db: None) -> None:
    StrategyState.objects.create(registry="payments", slug="gone")
    StrategyState.objects.create(registry="vanished", slug="old")
    out = run("switchyard_sync")
    assert "stale (class gone; --prune deletes): payments.gone, vanished.old" in out
    assert not StrategyState.objects.get(slug="gone").loads()
    assert StrategyState.objects.get(registry="payments", slug="card").loads()
    assert "pruned: payments.gone, vanished.old" in run("switchyard_sync", "--prune")
    assert rows() == registered()
    assert StrategyStateChange.objects.filter(slug="gone", via="sync", after__isnull=True).exists()
    assert "in sync" in run("switchyard_sync", "--prune")


def test_migrate_syncs_the_public_schema_only(free_tenant: Tenant) -> None:
    StrategyState.objects.filter(registry="payments").delete()
    with tenant_context(free_tenant):
        sync_after_migrate(using=connection.alias, verbosity=0)  # a tenant schema's migrate
    assert not StrategyState.objects.filter(registry="payments").exists()
    sync_after_migrate(using=connection.alias, verbosity=0)
    assert rows() == registered()


def test_disable_and_enable_are_audited(db: None) -> None:
    out = run("switchyard_disable", "payments.crypto", "--note", "provider outage", "--by", "ops")
    assert out == "payments.crypto is disabled (provider outage).\n"
    assert (
        run("switchyard_enable", "payments.crypto", "--by", "ops") == "payments.crypto is active.\n"
    )
    assert "is reserve" in run("switchyard_enable", "payments.crypto", "--reserve")
    enabled, disabled = StrategyStateChange.objects.filter(slug="crypto")[1:3]
    assert (disabled.via, disabled.changed_by, disabled.note) == (
        "command",
        "command:ops",
        "provider outage",
    )
    assert disabled.summary == "status 'active' → 'disabled'; note '' → 'provider outage'"
    assert enabled.summary == "status 'disabled' → 'active'; note 'provider outage' → ''"
    assert disabled.changed_at <= enabled.changed_at


def test_disable_scoped_to_a_plan(db: None) -> None:
    out = run("switchyard_disable", "payments.card", "--scope", "plan:free", "--note", "x")
    assert out == "payments.card is disabled for plan:free (x).\n"
    assert "The scope 'plan:(' is not a condition" in str(
        fails("switchyard_disable", "payments.card", "--scope", "plan:(")
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("paymnts.crypto", "No registry has the key 'paymnts'. Did you mean 'payments'?"),
        (
            "payments.crypt",
            "Registry 'payments' has no strategy 'crypt'. Did you mean 'payments.crypto'?",
        ),
        ("payments", "Expected registry.slug (e.g. 'payments.crypto'), got 'payments'."),
        ("payments.cry\x00pto", "Expected registry.slug"),
        ("x" * 100_000 + ".y", "No registry has the key 'xxxxxxxx"),
    ],
)
def test_unknown_or_hostile_names_are_clear_usage_errors(db: None, name: str, message: str) -> None:
    error = fails("switchyard_disable", name, "--note", "x")
    assert str(error).startswith(message)
    assert len(str(error)) < 400
    assert not StrategyStateChange.objects.filter(via="command").exists()


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("x" * 1_000_000, "The note is 1000000 characters long: at most 500 are accepted."),
        ("out\x00age", "The note 'out\\x00age' contains control characters (such as NUL)."),
    ],
)
def test_hostile_notes_are_refused_and_nothing_is_stored(db: None, note: str, message: str) -> None:
    assert str(fails("switchyard_disable", "payments.crypto", "--note", note)) == message
    assert StrategyState.objects.get(registry="payments", slug="crypto").status == "active"


def test_the_doctor_reports_a_disabled_choice_as_a_warning(enterprise_tenant: Tenant) -> None:
    from tests.helpers import store

    store(enterprise_tenant, "invoice")
    run("switchyard_disable", "payments.invoice", "--note", "provider outage")
    out = run("switchyard_doctor", "--tenant", "initech")
    assert "disabled_by_platform" in out
    assert "Not in force: disabled by the platform: provider outage." in out


def test_list_and_explain_show_the_platforms_word(enterprise_tenant: Tenant) -> None:
    run("switchyard_disable", "payments.crypto", "--note", "provider outage")
    listed = run("switchyard_list", "--tenant", "initech")
    assert "[disabled by the platform: provider outage]" in listed
    explained = run("switchyard_explain", "payments", "--tenant", "initech")
    assert "✗ crypto (Crypto (beta)) [disabled by the platform: provider outage]" in explained
