"""The switchyard_* commands: output, JSON, exit statuses, and nothing stored on an error."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connections
from django_tenants.utils import tenant_context

from conditions import Never, Permission
from engine import Registry, Strategy
from engine.models import Selection, SelectionHistory
from engine.storage.writes import write_selection
from example_site.strategies import Card, Invoice, PaymentGateways
from tenants.models import Tenant
from tests.helpers import make_user

User = get_user_model()
ALL_TENANTS = ["acme", "globex", "initech", "public"]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def fails(*args: str) -> CommandError:
    with pytest.raises(CommandError) as caught:
        run(*args)
    return caught.value


def stored(tenant: Tenant) -> tuple[list[Any], list[Any]]:
    with tenant_context(tenant):
        rows = list(Selection.objects.values_list("registry", "slug", "user_id", "changed_by"))
        history = list(SelectionHistory.objects.values_list("registry", "after_slug", "via"))
    return rows, history


@pytest.fixture
def themes(switchyard_isolated_registries: None) -> type[Registry]:
    """A user-selectable registry; 'dark' needs a permission."""

    class Themes(Registry):
        key = "cmd_themes"
        default = "light"
        user_selectable = True

    class Theme(Strategy):
        registry = Themes

    class Light(Theme):
        slug = "light"

    class Dark(Theme):
        slug = "dark"
        condition = Permission("engine.view_selectionhistory")

    return Themes


# -- switchyard_list ---------------------------------------------------------------------------


def test_list_shows_registries_and_strategies(db: None) -> None:
    text = run("switchyard_list")
    assert "payments — Payments (default card)\n" in text
    card_line = next(line for line in text.splitlines() if line.strip().startswith("card "))
    assert "Credit card" in card_line and "priority 10" in card_line
    assert card_line.rstrip().endswith("always")
    assert str(Invoice.condition) in text
    assert "✓" not in text  # no tenant: nothing is judged


def test_list_as_json(db: None) -> None:
    data = json.loads(run("switchyard_list", "--format", "json"))
    payments = next(entry for entry in data if entry["key"] == "payments")
    assert payments["default"] == "card" and payments["user_selectable"] is False
    assert [s["slug"] for s in payments["strategies"]] == list(PaymentGateways.slugs())
    assert payments["strategies"][0] == {
        "slug": "card",
        "label": Card.label,
        "priority": Card.priority,
        "condition": "always",
    }
    assert "in_force" not in payments


def test_list_for_a_tenant_shows_what_is_available_and_in_force(free_tenant: Tenant) -> None:
    text = run("switchyard_list", "--tenant", "acme")
    assert text.startswith("In tenant 'acme', no user:\n")
    assert "  in force: card (default)\n" in text
    lines = text.splitlines()
    assert any(line.startswith("  ✓ card") and line.endswith("[in force]") for line in lines)
    assert any(line.startswith("  ✗ invoice") for line in lines)
    data = json.loads(run("switchyard_list", "--tenant", "acme", "--format", "json"))
    payments = next(entry for entry in data if entry["key"] == "payments")
    assert payments["in_force"]["slug"] == "card"
    assert [(s["slug"], s["available"]) for s in payments["strategies"]] == [
        ("card", True),
        ("stripe", False),  # not configured on acme
        ("invoice", False),
        ("crypto", False),
    ]


def test_list_for_a_user_needs_a_tenant(db: None) -> None:
    error = fails("switchyard_list", "--user", "owner")
    assert error.returncode == 2
    assert str(error).startswith("--tenant is required under django-tenants; choose one of: acme")


# -- switchyard_explain ------------------------------------------------------------------------


def test_explain_prints_the_tree_and_what_is_stored(enterprise_tenant: Tenant) -> None:
    write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
    text = run("switchyard_explain", "payments", "--tenant", "initech")
    assert text.startswith(
        "In tenant 'initech', no user:\nstored: tenant: invoice\n"
        "payments: invoice (the tenant's selection)\n"
    )
    assert "  ✓ invoice (Invoice (net 30)) [in force]\n" in text
    assert "tenant initech is on plan 'enterprise'" in text


def test_explain_as_json_for_a_user(pro_tenant: Tenant) -> None:
    make_user(pro_tenant, "alice")
    data = json.loads(
        run(
            "switchyard_explain",
            "payments",
            "--tenant",
            "globex",
            "--user",
            "alice",
            "--format",
            "json",
        )
    )
    assert (data["tenant"], data["user"], data["registry"]) == ("globex", "alice", "payments")
    assert data["selection"] == {"tenant": None, "user": None}
    assert data["in_force"]["slug"] == "card"
    invoice = next(entry for entry in data["strategies"] if entry["slug"] == "invoice")
    assert invoice["available"] is False
    assert invoice["explanation"]["text"] == str(Invoice.condition)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["paymnts", "--tenant", "acme"],
            "No registry has the key 'paymnts'. Did you mean 'payments'?",
        ),
        (
            ["payments", "--tenant", "acmee"],
            "No tenant has the schema name 'acmee'. Did you mean 'acme'?",
        ),
        (["payments"], "--tenant is required under django-tenants; choose one of: acme, globex"),
        (
            ["payments", "--tenant", "acme", "--user", "nobody"],
            "--user 'nobody': no such user in tenant 'acme'.",
        ),
    ],
    ids=["registry", "tenant", "no-tenant", "user"],
)
def test_explain_names_what_is_wrong(free_tenant: Tenant, args: list[str], message: str) -> None:
    error = fails("switchyard_explain", *args)
    assert error.returncode == 2
    assert str(error).startswith(message)


def test_an_unknown_user_gets_a_suggestion(free_tenant: Tenant) -> None:
    make_user(free_tenant, "alice")
    error = fails("switchyard_explain", "payments", "--tenant", "acme", "--user", "alcie")
    assert str(error) == "--user 'alcie': no such user in tenant 'acme'. Did you mean 'alice'?"


# -- switchyard_select -------------------------------------------------------------------------


def test_select_stores_and_reports(enterprise_tenant: Tenant) -> None:
    admin = make_user(enterprise_tenant, "admin", "engine.change_selection")
    text = run("switchyard_select", "payments", "invoice", "--tenant", "initech", "--as", "admin")
    assert text == (
        "Selected payments=invoice for tenant 'initech' (was: nothing).\n"
        "In force now: invoice (the tenant's selection).\n"
    )
    rows, history = stored(enterprise_tenant)
    assert rows == [("payments", "invoice", None, admin.pk)]
    assert history == [("payments", "invoice", "command")]


def test_select_refuses_an_unavailable_strategy_and_stores_nothing(pro_tenant: Tenant) -> None:
    make_user(pro_tenant, "member", "engine.change_selection")
    before = stored(pro_tenant)
    error = fails(
        "switchyard_select", "payments", "invoice", "--tenant", "globex", "--as", "member"
    )
    assert error.returncode == 1
    assert str(error) == (
        "Nothing was stored: Strategy 'invoice' of 'payments' is not available here: "
        f"{Invoice.condition} is not met."
    )
    assert stored(pro_tenant) == before


def test_select_judges_conditions_for_the_acting_user(pro_tenant: Tenant) -> None:
    # globex is on pro: invoice is available only to a user with the permission.
    (perm,) = re.findall(r"perm:([\w.]+)", str(Invoice.condition))
    make_user(pro_tenant, "billing", perm, "engine.change_selection")
    fails("switchyard_select", "payments", "invoice", "--tenant", "globex")  # no user: refused
    run("switchyard_select", "payments", "invoice", "--tenant", "globex", "--as", "billing")
    assert stored(pro_tenant)[0][0][:2] == ("payments", "invoice")


@pytest.mark.parametrize("args", [["card"], ["--clear"], ["card", "--dry-run"]])
def test_acting_as_a_user_needs_the_change_permission(
    enterprise_tenant: Tenant, args: list[str]
) -> None:
    make_user(enterprise_tenant, "staffer")
    with tenant_context(enterprise_tenant):
        User.objects.filter(username="staffer").update(is_staff=True)
    write_selection("payments", "invoice", via="test", tenant=enterprise_tenant)
    before = stored(enterprise_tenant)
    error = fails("switchyard_select", "payments", *args, "--tenant", "initech", "--as", "staffer")
    assert error.returncode == 1
    assert str(error) == (
        "Nothing was stored: User 'staffer' may not change the tenant's selections: that needs "
        "the 'engine.change_selection' permission (superusers have it; staff status alone is "
        "not enough)."
    )
    assert stored(enterprise_tenant) == before


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["payments", "invoise", "--tenant", "initech"],
            1,
            "Nothing was stored: Unknown strategy 'invoise' in 'payments'. Did you mean 'invoice'?",
        ),
        (
            ["payments", "card", "--tenant", "initech", "--user", "member"],
            1,
            "Nothing was stored: Registry 'payments' does not allow per-user selections",
        ),
        (
            ["payments", "--tenant", "initech"],
            2,
            "Give either a strategy slug to select or --clear",
        ),
        (
            ["payments", "card", "--clear", "--tenant", "initech"],
            2,
            "Give either a strategy slug to select or --clear",
        ),
        (
            ["payments", "card", "--tenant", "initech", "--as", "ghost"],
            2,
            "--as 'ghost': no such user",
        ),
    ],
    ids=["unknown-slug", "not-user-selectable", "nothing", "both", "unknown-actor"],
)
def test_select_errors_store_nothing(
    enterprise_tenant: Tenant, args: list[str], code: int, message: str
) -> None:
    make_user(enterprise_tenant, "member")
    before = stored(enterprise_tenant)
    error = fails("switchyard_select", *args)
    assert (error.returncode, str(error)[: len(message)]) == (code, message)
    assert stored(enterprise_tenant) == before


def test_select_a_users_own_choice(pro_tenant: Tenant, themes: type[Registry]) -> None:
    alice = make_user(pro_tenant, "alice", "engine.view_selectionhistory")
    make_user(pro_tenant, "bob")
    # For bob, dark is unavailable (no permission), whoever acts.
    error = fails("switchyard_select", "cmd_themes", "dark", "--tenant", "globex", "--user", "bob")
    assert "'dark' of 'cmd_themes' is not available here" in str(error)
    text = run("switchyard_select", "cmd_themes", "dark", "--tenant", "globex", "--user", "alice")
    assert text == (
        "Selected cmd_themes=dark for user 'alice' (was: nothing).\n"
        "In force now: dark (the user's own selection).\n"
    )
    assert stored(pro_tenant)[0] == [("cmd_themes", "dark", alice.pk, None)]


def test_select_clear_and_dry_run(enterprise_tenant: Tenant) -> None:
    dry = run("switchyard_select", "payments", "invoice", "--tenant", "initech", "--dry-run")
    assert dry == "Dry run: tenant 'initech' may select payments=invoice (stored now: nothing).\n"
    assert stored(enterprise_tenant) == ([], [])
    run("switchyard_select", "payments", "invoice", "--tenant", "initech")
    cleared = run("switchyard_select", "payments", "--clear", "--tenant", "initech")
    assert cleared == (
        "Cleared payments for tenant 'initech' (was: invoice).\n"
        "In force now: card (the registry's default).\n"
    )
    rows, history = stored(enterprise_tenant)
    assert rows == [] and [after for _, after, _ in history] == [None, "invoice"]


# -- switchyard_doctor -------------------------------------------------------------------------


def test_doctor_passes_when_every_selection_is_in_force(enterprise_tenant: Tenant) -> None:
    write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
    text = run("switchyard_doctor")
    assert text.endswith(
        "Examined 4 tenant(s) and 1 stored selection(s): 0 error(s), 0 warning(s).\n"
    )
    data = json.loads(run("switchyard_doctor", "--format", "json"))
    assert (data["ok"], data["tenants"], data["selections"], data["findings"]) == (True, 4, 1, [])


def test_doctor_fails_on_unknown_slugs_and_registries(free_tenant: Tenant) -> None:
    write_selection("payments", "bitcoin", via="api", tenant=free_tenant)
    write_selection("ghost", "boo", via="api", tenant=free_tenant)
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("switchyard_doctor", stdout=out, stderr=StringIO())
    assert caught.value.returncode == 1
    assert str(caught.value) == "switchyard_doctor found 2 error(s)."
    text = out.getvalue()
    assert text.startswith("acme:\n")
    assert "  ERROR unknown_registry: ghost=boo (tenant): No registry has the key 'ghost'." in text
    assert (
        "  ERROR unknown_slug: payments=bitcoin (tenant): Unknown strategy 'bitcoin' in "
        "'payments'." in text
    )
    assert "The selection is ignored. In force: card.\n" in text


def test_doctor_json_lists_every_finding(free_tenant: Tenant, pro_tenant: Tenant) -> None:
    write_selection("payments", "bitcoin", via="api", tenant=free_tenant)
    member = make_user(pro_tenant, "member")
    write_selection("payments", "card", user=member, via="api", tenant=pro_tenant)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("switchyard_doctor", "--format", "json", stdout=out, stderr=StringIO())
    data = json.loads(out.getvalue())
    assert (data["ok"], data["errors"], data["warnings"]) == (False, 1, 1)
    assert [(f["tenant"], f["code"], f["severity"], f["user"]) for f in data["findings"]] == [
        ("acme", "unknown_slug", "error", None),
        ("globex", "not_user_selectable", "warning", "member"),
    ]


def test_doctor_warns_about_selections_not_in_force_and_strict_fails(free_tenant: Tenant) -> None:
    write_selection("payments", "invoice", via="api", tenant=free_tenant)  # free: unavailable
    text = run("switchyard_doctor")
    assert (
        f"  WARNING unavailable: payments=invoice (tenant): Not in force: {Invoice.condition} "
        "is not met. It stays stored and applies again once it is. In force: card.\n"
    ) in text
    assert text.endswith("0 error(s), 1 warning(s).\n")
    error = fails("switchyard_doctor", "--strict")
    assert (error.returncode, str(error)) == (
        1,
        "switchyard_doctor found 0 error(s) and 1 warning(s) (--strict).",
    )


def test_doctor_warns_about_a_registry_with_nothing_available(
    free_tenant: Tenant, switchyard_isolated_registries: None
) -> None:
    class Closed(Registry):
        key = "cmd_closed"

    class Only(Strategy):
        registry = Closed
        slug = "only"
        condition = Never()

    data = json.loads(run("switchyard_doctor", "--tenant", "acme", "--format", "json"))
    (finding,) = data["findings"]
    assert (finding["registry"], finding["code"], finding["severity"]) == (
        "cmd_closed",
        "no_strategy",
        "warning",
    )
    assert finding["message"].startswith("No strategy of 'cmd_closed' is available")


def test_doctor_only_for_some_tenants(free_tenant: Tenant) -> None:
    write_selection("payments", "bitcoin", via="api", tenant=free_tenant)
    text = run("switchyard_doctor", "--tenant", "globex", "--tenant", "initech")
    assert text == "Examined 2 tenant(s) and 0 stored selection(s): 0 error(s), 0 warning(s).\n"
    error = fails("switchyard_doctor", "--tenant", "globx")
    assert error.returncode == 2 and "Did you mean 'globex'?" in str(error)


def test_doctor_progress_bar_goes_to_stderr_when_asked(db: None) -> None:
    quiet, shown = StringIO(), StringIO()
    call_command("switchyard_doctor", stdout=StringIO(), stderr=quiet)
    call_command("switchyard_doctor", "--progress", stdout=StringIO(), stderr=shown)
    assert quiet.getvalue() == ""  # not a terminal: no bar
    assert "Examining tenants: 100%" in shown.getvalue()
    assert f"{len(ALL_TENANTS)}/{len(ALL_TENANTS)}" in shown.getvalue()


@pytest.fixture
def argv_exit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run a command as ``manage.py`` does; return its exit status, stdout and stderr."""
    # run_from_argv closes every connection when it ends, which would end the test's
    # transaction (and its rollback) too.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def execute(*argv: str) -> tuple[int, str, str]:
        status = 0
        try:
            ManagementUtility(["manage.py", *argv]).execute()
        except SystemExit as exit:
            status = int(exit.code or 0)
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    yield execute


def test_doctor_exit_status_from_the_command_line(free_tenant: Tenant, argv_exit: Any) -> None:
    write_selection("payments", "bitcoin", via="api", tenant=free_tenant)
    status, out, err = argv_exit("switchyard_doctor", "--no-progress")
    assert status == 1
    assert "ERROR unknown_slug" in out
    assert "CommandError: switchyard_doctor found 1 error(s)." in err
    status, _, err = argv_exit("switchyard_doctor", "--tenant", "nowhere")
    assert status == 2 and "No tenant has the schema name 'nowhere'" in err
    status, out, _ = argv_exit("switchyard_doctor", "--tenant", "globex")
    assert status == 0 and out.endswith("0 error(s), 0 warning(s).\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "ini\x00tech"], "--tenant 'ini\\x00tech': contains control characters."),
        (["--tenant", "initech", "--as", "own\x00er"], "--as 'own\\x00er': contains control"),
        (["--tenant", "initech", "--user", "\x1b[2J"], "--user '\\x1b[2J': contains control"),
        (["--tenant", "x" * 10_000], f"No tenant has the schema name {'x' * 40 + '…'!r}"),
    ],
    ids=["nul-tenant", "nul-actor", "escape-user", "huge-tenant"],
)
def test_hostile_tenant_and_user_names_are_usage_errors(
    enterprise_tenant: Tenant, args: list[str], message: str
) -> None:
    before = stored(enterprise_tenant)
    error = fails("switchyard_select", "payments", "card", *args)
    assert error.returncode == 2
    assert str(error).startswith(message)
    assert len(str(error)) < 500 and str(error).isprintable()
    assert stored(enterprise_tenant) == before
