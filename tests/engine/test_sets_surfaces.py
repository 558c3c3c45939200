"""Sets on every surface: the form, the admin, the REST API, the command, template tags, the
audit and doctor, the platform report, and the warm request path (0 queries, one round trip).

Each refused write is checked against every schema's rows and history: nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.template import Context as TemplateContext
from django.template import Template
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from conditions import Context, Setting
from conditions import cache as switchyard_cache
from engine import Registry, Strategy
from engine.audit import OVER_LIMIT, UNAVAILABLE, UNKNOWN_SLUG, audit_selections
from engine.forms import SelectionsForm, StrategySetChoiceField
from engine.models import Selection, SelectionHistory
from engine.namespace import StrategyNamespace
from engine.storage.writes import write_selection
from tenants.conditions import Plan
from tenants.models import Tenant
from tenants.reports import strategies_in_force
from tests.engine.core_support import Fixed
from tests.helpers import make_user
from tests.transactions import settled

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")

API = "/api/switchyard/registries/channels/"
CHANGE = "engine.change_selection"


def define(**attributes: Any) -> type[Registry]:
    """ "channels": mail (always, mandatory), sms (a setting), chat (enterprise), hook (always)."""
    declared = {"key": "channels", "multiple": True, "mandatory": ("mail",), **attributes}
    registry = type("Channels", (Registry,), declared)
    for name, slug, priority, condition in (
        ("Mail", "mail", 10, Fixed("always", True)),
        ("Sms", "sms", 20, Setting("CHANNELS_SMS")),
        ("Chat", "chat", 30, Plan("enterprise")),
        ("Hook", "hook", 40, Fixed("always", True)),
    ):
        type(
            name,
            (Strategy,),
            {
                "registry": registry,
                "slug": slug,
                "label": name,
                "priority": priority,
                "condition": condition,
            },
        )
    return registry


def everything() -> dict[str, tuple[list[Any], list[Any]]]:
    state = {}
    for tenant in Tenant.objects.order_by("schema_name"):
        with tenant_context(tenant):
            rows = list(Selection.objects.values_list("registry", "slug", "user_id"))
            history = list(SelectionHistory.objects.values_list("registry", "after_slug", "via"))
        state[tenant.schema_name] = (rows, history)
    return state


@pytest.fixture
def unchanged(db: None) -> Iterator[None]:
    before = everything()
    yield
    assert everything() == before


def stored(tenant: Tenant, user: Any = None) -> str | None:
    with tenant_context(tenant):
        return (
            Selection.objects.filter(registry="channels", user=user)
            .values_list("slug", flat=True)
            .first()
        )


def client_for(tenant: Tenant, user: Any) -> Client:
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    with tenant_context(tenant):
        client.force_login(user)
    return client


# SelectionsForm ------------------------------------------------------------------------------


def test_the_form_offers_checkboxes_in_the_sets_order(free_tenant: Tenant) -> None:
    define()
    write_selection("channels", "hook,mail", via="api", tenant=free_tenant)
    form = SelectionsForm(Context(tenant=free_tenant), registries=["channels"])
    field = form.fields["channels"]
    assert isinstance(field, StrategySetChoiceField)
    assert [slug for slug, _ in field.choices] == ["hook", "mail"]
    html = str(form["channels"])
    assert 'type="checkbox"' in html and 'name="channels-position-hook" value="1"' in html
    # mail is mandatory: its box is disabled and its value posted by a hidden input.
    assert '<input type="hidden" name="channels" value="mail">' in html
    (entry,) = form.entries
    assert [u.slug for u in entry.unavailable] == ["sms", "chat"]
    assert entry.unavailable[1].explanation.text == "plan:enterprise"


def test_the_form_saves_the_checked_set_in_the_order_of_the_positions(
    free_tenant: Tenant,
) -> None:
    define()
    data = {
        "channels": ["mail", "hook"],
        "channels-position-mail": "2",
        "channels-position-hook": "1",
    }
    form = SelectionsForm(Context(tenant=free_tenant), data, registries=["channels"])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["channels"] == ("hook", "mail")
    (row,) = form.save(via="form")
    assert row.slug == "hook,mail" == stored(free_tenant)


@pytest.mark.parametrize(
    ("posted", "code"),
    [
        (["hook"], "mandatory"),
        (["mail", "chat"], "unavailable"),
        (["mail", "nope"], "unknown_strategy"),
        (["mail", "mail"], "duplicate"),
        (["mail", "ho\x00ok"], "unknown_strategy"),
    ],
)
def test_the_form_refuses_a_crafted_set(
    free_tenant: Tenant, unchanged: None, posted: list[str], code: str
) -> None:
    define()
    form = SelectionsForm(
        Context(tenant=free_tenant), {"channels": posted}, registries=["channels"]
    )
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()["channels"]] == [code]


def test_positions_that_are_not_small_numbers_keep_the_pages_order(free_tenant: Tenant) -> None:
    define()
    data = {
        "channels": ["mail", "hook"],
        "channels-position-mail": "x\x00",
        "channels-position-hook": "9" * 50,
    }
    form = SelectionsForm(Context(tenant=free_tenant), data, registries=["channels"])
    assert form.is_valid(), form.errors
    assert form.cleaned_data["channels"] == ("mail", "hook")


def test_the_form_refuses_a_huge_set_before_reading_it(
    free_tenant: Tenant, unchanged: None
) -> None:
    define()
    data = {"channels": ["mail"] * 50_000}
    form = SelectionsForm(Context(tenant=free_tenant), data, registries=["channels"])
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()["channels"]] == ["too_many"]


def test_the_admin_saves_a_set(free_tenant: Tenant) -> None:
    define()
    owner = make_user(free_tenant, "owner", CHANGE, staff=True)
    client = client_for(free_tenant, owner)
    page = client.get("/admin/engine/selection/")
    assert page.status_code == 200 and b"channels-position-hook" in page.content
    response = client.post(
        "/admin/engine/selection/",
        {**current(free_tenant), "channels": ["mail", "hook"], "channels-position-hook": "1"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert stored(free_tenant) == "hook,mail"
    with tenant_context(free_tenant):
        assert SelectionHistory.objects.get(registry="channels").via == "admin"
    refused = client.post(
        "/admin/engine/selection/", {**current(free_tenant), "channels": ["hook"]}
    )
    assert refused.status_code == 200 and b"mandatory" in refused.content
    assert stored(free_tenant) == "hook,mail"


def current(tenant: Tenant) -> dict[str, Any]:
    """What the selections form posts unchanged (every registry at its initial value)."""
    form = SelectionsForm(Context(tenant=tenant))
    return {
        name: form.get_initial_for_field(field, name)
        for name, field in form.fields.items()
        if form.get_initial_for_field(field, name) is not None
    }


# REST API ------------------------------------------------------------------------------------


def put(client: Client, url: str, data: Any) -> Any:
    return client.put(url, json.dumps(data), content_type="application/json")


def test_the_api_reads_and_replaces_a_set(free_tenant: Tenant) -> None:
    define()
    client = client_for(free_tenant, make_user(free_tenant, "owner", CHANGE))
    response = put(client, f"{API}selection/", {"slugs": ["hook", "mail"]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["slugs"] == ["hook", "mail"]
    assert body["in_force"]["slugs"] == ["hook", "mail"]
    assert [s["reason"] for s in body["in_force"]["strategies"]] == [
        "tenant_selection",
        "mandatory",
    ]
    response = put(client, f"{API}selection/", {"slugs": ["mail"]})
    assert response.json()["slugs"] == ["mail"] and stored(free_tenant) == "mail"
    detail = client.get(API).json()
    assert detail["multiple"] is True and detail["mandatory"] == ["mail"]
    assert detail["selection"]["tenant"] == ["mail"]


def test_the_browsable_api_renders_a_set_resource(free_tenant: Tenant) -> None:
    define()
    client = client_for(free_tenant, make_user(free_tenant, "owner", CHANGE))
    response = client.get(f"{API}selection/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"slugs" in response.content
    options = client.options(f"{API}selection/").json()
    offered = [choice["value"] for choice in options["actions"]["PUT"]["slugs"]["choices"]]
    assert offered == ["mail", "hook"]  # what this request may choose


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"slugs": "mail"}, "invalid"),
        ({"slugs": {"a": 1}}, "invalid"),
        ({"slugs": ["mail", 7]}, "invalid_set"),
        ({"slugs": ["hook"]}, "mandatory"),
        ({"slugs": ["mail", "mail"]}, "duplicate"),
        ({"slugs": ["mail", "nope"]}, "unknown_strategy"),
        ({"slugs": ["mail", "x\u0000"]}, "unknown_strategy"),
        ({"slugs": ["mail"] * 100_000}, "too_many"),
        ({"slugs": ["mail", "chat"]}, "unavailable"),
        ({"slug": "mail"}, "unknown_field"),
    ],
)
def test_the_api_refuses_a_bad_set_with_a_400(
    free_tenant: Tenant, unchanged: None, body: Any, code: str
) -> None:
    define()
    owner = make_user(free_tenant, "owner", CHANGE)
    before = everything()
    response = put(client_for(free_tenant, owner), f"{API}selection/", body)
    assert response.status_code == 400, response.content[:500]
    codes = response.json()["codes"]
    assert code in json.dumps(codes)
    assert len(response.content) < 2000
    assert everything() == before


def test_a_user_chooses_their_own_set_through_the_api(free_tenant: Tenant) -> None:
    define(user_selectable=True)
    member = make_user(free_tenant, "member")  # no permission: their own choice needs none
    client = client_for(free_tenant, member)
    with override_settings(CHANNELS_SMS=True):
        response = put(client, f"{API}my-selection/", {"slugs": ["sms", "mail"]})
        assert response.status_code == 200, response.content
        assert response.json()["in_force"]["slugs"] == ["sms", "mail"]
        assert response.json()["in_force"]["reason"] == "user_selection"
        refused = put(client, f"{API}selection/", {"slugs": ["hook", "mail"]})
    assert refused.status_code == 403
    assert stored(free_tenant, member) == "sms,mail" and stored(free_tenant) is None


# The command ---------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("switchyard_select", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_the_command_selects_a_set(free_tenant: Tenant) -> None:
    define()
    output = run("channels=hook,mail", "--tenant", free_tenant.schema_name)
    assert "Selected channels=hook,mail" in output
    assert "In force now: hook,mail (the tenant's selection)" in output
    assert stored(free_tenant) == "hook,mail"


def test_the_command_dry_run_validates_a_set_and_stores_nothing(
    free_tenant: Tenant, unchanged: None
) -> None:
    define()
    output = run("channels", "hook,mail", "--tenant", free_tenant.schema_name, "--dry-run")
    assert "may select channels=hook,mail" in output
    with pytest.raises(CommandError, match="mandatory"):
        run("channels=hook", "--tenant", free_tenant.schema_name, "--dry-run")


@pytest.mark.parametrize(
    "value",
    [
        "channels=hook",
        "channels=mail,mail",
        "channels=mail,nope",
        "channels=mail,chat",
        "channels=",
    ],
)
def test_the_command_refuses_a_bad_set(free_tenant: Tenant, unchanged: None, value: str) -> None:
    define()
    with pytest.raises(CommandError, match="Nothing was stored"):
        run(value, "--tenant", free_tenant.schema_name)


def test_explain_and_list_show_the_set(free_tenant: Tenant) -> None:
    define()
    write_selection("channels", "hook,chat,mail", via="api", tenant=free_tenant)
    out = StringIO()
    call_command("switchyard_explain", "channels", "--tenant", free_tenant.schema_name, stdout=out)
    text = out.getvalue()
    assert "channels: hook,mail (the tenant's selection)" in text
    assert "skipped: the tenant's selection 'chat' is unavailable: plan:enterprise" in text
    assert "✓ hook (Hook) [in force]" in text and "✓ mail (Mail) [in force]" in text
    out = StringIO()
    call_command(
        "switchyard_list", "--tenant", free_tenant.schema_name, "--format", "json", stdout=out
    )
    (listed,) = [r for r in json.loads(out.getvalue()) if r["key"] == "channels"]
    assert listed["in_force"]["slugs"] == ["hook", "mail"]
    assert listed["selection"]["tenant"] == "hook,chat,mail"
    assert (listed["multiple"], listed["mandatory"]) == (True, ["mail"])
    out = StringIO()
    call_command("switchyard_list", stdout=out)
    assert "channels — Channels (no default, a set, mandatory mail)" in out.getvalue()


# Template tags, audit, doctor, report --------------------------------------------------------


def test_the_strategy_tag_lists_the_set(free_tenant: Tenant) -> None:
    define()
    write_selection("channels", "hook,mail", via="api", tenant=free_tenant)
    namespace = StrategyNamespace(Context(tenant=free_tenant))
    template = Template(
        '{% load switchyard %}{% strategy "channels" %}|'
        '{% strategy "channels" as set %}{% for s in set %}{{ s.slug }} {% endfor %}'
    )
    assert template.render(TemplateContext({"strategy": namespace})) == "Hook, Mail|hook mail "


def test_the_audit_and_doctor_judge_each_slug(free_tenant: Tenant) -> None:
    define(max_selected=2)
    with override_settings(CHANNELS_SMS=True):
        write_selection("channels", "mail,gone,chat,hook,sms", via="api", tenant=free_tenant)
        found = audit_selections(free_tenant).inactive
    assert [(i.slug, i.why) for i in found] == [
        ("gone", UNKNOWN_SLUG),
        ("chat", UNAVAILABLE),
        ("sms", OVER_LIMIT),
    ]
    assert {i.in_force for i in found} == {"mail,hook"}
    out = StringIO()
    with override_settings(CHANNELS_SMS=True), pytest.raises(CommandError):
        call_command(
            "switchyard_doctor", "--tenant", free_tenant.schema_name, stdout=out, stderr=StringIO()
        )
    assert "channels=gone (tenant)" in out.getvalue()
    assert "channels=sms (tenant)" in out.getvalue()


def test_the_platform_report_shows_the_set(free_tenant: Tenant) -> None:
    define()
    write_selection("channels", "hook,mail", via="api", tenant=free_tenant)
    (row,) = strategies_in_force([free_tenant])
    (state,) = [s for s in row.registries if s.registry == "channels"]
    assert (state.slug, state.stored, state.own_choice) == ("hook,mail", "hook,mail", True)


# The warm request path -----------------------------------------------------------------------


def test_a_warm_read_of_a_set_costs_no_query_and_one_round_trip(
    free_tenant: Tenant, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    define()
    with settled():
        write_selection("channels", "hook,mail", via="api", tenant=free_tenant)
    with tenant_context(free_tenant):
        StrategyNamespace(Context(tenant=free_tenant)).get("channels")  # warms the cache
        alias = switchyard_cache.cache()
        calls: list[str] = []
        original = alias.get_many

        def counted(*args: Any, **kwargs: Any) -> Any:
            calls.append("get_many")
            return original(*args, **kwargs)

        monkeypatch.setattr(alias, "get_many", counted)
        with django_assert_num_queries(0):
            namespace = StrategyNamespace(Context(tenant=free_tenant), connection_tenant=True)
            assert [s.slug for s in namespace.channels] == ["hook", "mail"]
            assert namespace.resolution("channels").reason.value == "tenant_selection"
    assert calls == ["get_many"]
