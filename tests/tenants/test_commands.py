"""The commands provision_tenant, switchyard_template and switchyard_inactive_selections."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists

from engine.storage.writes import write_selection
from tenants import template
from tenants.models import Tenant
from tenants.spares import ready_spares


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_provision_tenant_creates_the_tenant_and_reports_the_time(db: None) -> None:
    output = run(
        "provision_tenant",
        "hooli",
        "--name",
        "Hooli",
        "--plan",
        "enterprise",
        "--domain",
        "hooli.localhost",
        "--select",
        "payments=invoice",
        "--created-by",
        "ops",
    )
    assert output.startswith(
        "Provisioned tenant 'hooli' (Hooli, plan enterprise) at hooli.localhost in "
    )
    assert output.rstrip().endswith(" ms.")
    tenant = Tenant.objects.get(schema_name="hooli")
    assert (tenant.plan, tenant.created_by) == ("enterprise", "ops")


def test_provision_tenant_lists_every_problem_and_creates_nothing(free_tenant: Tenant) -> None:
    with pytest.raises(CommandError) as caught:
        run(
            "provision_tenant",
            "acme",
            "--name",
            "Acme again",
            "--plan",
            "gold",
            "--domain",
            "acme.localhost",
            "--select",
            "payments=cheque",
        )
    message = str(caught.value)
    assert message.startswith("Nothing was created:")
    assert "schema_name: A tenant with the schema name 'acme' exists." in message
    assert "plan: Unknown plan 'gold'." in message
    assert "domain: The domain 'acme.localhost' already routes to another tenant." in message
    assert "selections: payments: Unknown strategy 'cheque'" in message
    assert Tenant.objects.filter(name="Acme again").count() == 0


def test_provision_tenant_explains_a_malformed_selection(db: None) -> None:
    with pytest.raises(
        CommandError, match=re.escape("expected REGISTRY=SLUG, e.g. payments=invoice")
    ):
        run(
            "provision_tenant",
            "hooli",
            "--name",
            "H",
            "--plan",
            "pro",
            "--domain",
            "h.localhost",
            "--select",
            "payments",
        )
    assert not schema_exists("hooli")


def test_switchyard_template_builds_only_when_needed_and_keeps_spares(db: None) -> None:
    template.ensure_template()
    output = run("switchyard_template")
    assert output.startswith("Up to date: template schema _switchyard_template")
    assert output.endswith("Spare schemas ready: 2 (2 new).\n")
    assert run("switchyard_template", "--spares", "3").endswith("ready: 3 (1 new).\n")
    assert len(ready_spares()) == 3
    with connection.cursor() as cursor:
        cursor.execute("COMMENT ON SCHEMA _switchyard_template IS NULL")
    assert run("switchyard_template").startswith("Built template schema _switchyard_template")
    assert run("switchyard_template", "--force").startswith("Rebuilt template schema")
    assert template.stored_fingerprint("_switchyard_template") == template.migrations_fingerprint()


def test_inactive_selections_as_text_and_json(free_tenant: Tenant, pro_tenant: Tenant) -> None:
    assert (
        run("switchyard_inactive_selections") == "Every stored selection is in force (3 tenants).\n"
    )
    write_selection("payments", "invoice", via="api", tenant=free_tenant)
    text = run("switchyard_inactive_selections")
    assert "acme:\n  payments=invoice (tenant): " in text
    assert "; in force: card\n" in text
    assert text.endswith("1 selection(s) not in force in 3 tenants.\n")
    (item,) = json.loads(run("switchyard_inactive_selections", "--format", "json"))
    assert (item["tenant"], item["registry"], item["slug"], item["why"]) == (
        "acme",
        "payments",
        "invoice",
        "unavailable",
    )
    only_globex = run("switchyard_inactive_selections", "--tenant", "globex")
    assert only_globex == "Every stored selection is in force (1 tenants).\n"


def test_inactive_selections_suggests_a_tenant(db: None, free_tenant: Tenant) -> None:
    with pytest.raises(
        CommandError, match=re.escape("No tenant has the schema name 'acmee'. Did you mean 'acme'?")
    ):
        run("switchyard_inactive_selections", "--tenant", "acmee")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--name", "Evil\x1b[2J\x1b[31m", "name: The name 'Evil\\x1b[2J\\x1b[31m' contains U+001B"),
        ("--name", "Line\nbreak", "name: The name 'Line\\nbreak' contains U+000A"),
        ("--domain", "hoo\rli.localhost", "domain: Invalid domain 'hoo\\rli.localhost'"),
        ("--domain", "https://hooli.localhost", "give the host name alone"),
        ("--plan", "pro\x07", "plan: Unknown plan 'pro\\x07'."),
        ("--created-by", "ops\x1b]0;pwned\x07", "created_by: created_by 'ops\\x1b]0;pwned\\x07'"),
    ],
)
def test_provision_tenant_prints_no_raw_control_characters(
    db: None, option: str, value: str, expected: str
) -> None:
    arguments = {"--name": "Hooli", "--plan": "pro", "--domain": "hooli.localhost"}
    arguments[option] = value
    with pytest.raises(CommandError) as caught:
        run("provision_tenant", "hooli", *[item for pair in arguments.items() for item in pair])
    message = str(caught.value)
    assert expected in message
    assert not any(char in message for char in "\x1b\r\x07"), repr(message)
    assert not schema_exists("hooli")
