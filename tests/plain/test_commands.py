"""The switchyard_* commands in a project without django-tenants: one schema, no --tenant."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from engine.models import Selection
from engine.storage.writes import write_selection

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_list_says_what_is_in_force_in_the_one_schema() -> None:
    data = json.loads(run("switchyard_list", "--format", "json"))
    (shipping,) = [entry for entry in data if entry["key"] == "shipping"]
    assert shipping["in_force"]["slug"] == "post"
    assert [(s["slug"], s["available"]) for s in shipping["strategies"]] == [
        ("post", True),
        ("courier", False),
        ("pickup", True),
    ]


def test_explain_and_select_need_no_tenant() -> None:
    get_user_model().objects.create_user("ann")
    text = run("switchyard_select", "shipping", "pickup", "--user", "ann")
    assert text.startswith("Selected shipping=pickup for user 'ann' (was: nothing).\n")
    assert Selection.objects.get().slug == "pickup"
    text = run("switchyard_explain", "shipping", "--user", "ann")
    assert text.startswith("In schema 'public', user 'ann':\nstored: user: pickup\n")


def test_tenant_options_are_refused() -> None:
    with pytest.raises(CommandError) as caught:
        run("switchyard_explain", "shipping", "--tenant", "acme")
    assert caught.value.returncode == 2
    assert "django-tenants is not installed" in str(caught.value)


def test_doctor_scans_the_one_schema() -> None:
    write_selection("shipping", "drone", via="api")
    with pytest.raises(CommandError) as caught:
        run("switchyard_doctor")
    assert caught.value.returncode == 1
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("switchyard_doctor", "--format", "json", stdout=out, stderr=StringIO())
    data = json.loads(out.getvalue())
    assert (data["tenants"], data["selections"]) == (1, 1)
    assert [(f["tenant"], f["code"]) for f in data["findings"]] == [("public", "unknown_slug")]
