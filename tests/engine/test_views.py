"""engine.urls: the bundled tenant and per-user selection pages, through real requests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import Client, RequestFactory
from django_tenants.utils import tenant_context

from engine.models import Selection
from engine.views import SelectionsView
from tenants.models import Tenant
from tests.engine.surfaces_support import client_for, rows
from tests.helpers import make_user

pytestmark = pytest.mark.urls("tests.engine.urls_selections")


@pytest.fixture(autouse=True)
def bundled_templates(settings: Any) -> None:
    """The engine's own templates, not the demo's overrides (its TEMPLATES["DIRS"])."""
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]


PAGE = "/strategies/"
MINE = "/strategies/mine/"


@pytest.fixture
def owner(pro_tenant: Tenant) -> Any:
    return make_user(pro_tenant, "owner", superuser=True)


@pytest.fixture
def member(pro_tenant: Tenant) -> Any:
    return make_user(pro_tenant, "member")


def posted(client: Client, path: str, **data: str) -> dict[str, Any]:
    """What the page's form posts back (every editable field as shown), with ``data``."""
    form = client.get(path).context["form"]
    shown = {name: form[name].value() for name, field in form.fields.items() if not field.disabled}
    return {name: value for name, value in {**shown, **data}.items() if value is not None}


def test_an_anonymous_visitor_is_sent_to_log_in(pro_tenant: Tenant) -> None:
    response = client_for(pro_tenant).get(PAGE)
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/strategies/",
    )


def test_a_member_without_the_permission_gets_403_and_changes_nothing(
    pro_tenant: Tenant, member: Any
) -> None:
    client = client_for(pro_tenant, member)
    before = rows(pro_tenant)
    assert client.get(PAGE).status_code == 403
    response = client.post(PAGE, {"surface_couriers": "express"})
    assert response.status_code == 403
    assert "needs the &#x27;engine.change_selection&#x27; permission" in response.content.decode()
    assert rows(pro_tenant) == before


def test_the_owner_sees_the_bundled_page_and_saves(pro_tenant: Tenant, owner: Any) -> None:
    client = client_for(pro_tenant, owner)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert [t.name for t in response.templates][:2] == [
        "engine/selections.html",
        "engine/base.html",
    ]
    html = response.content.decode()
    assert 'name="surface_couriers" value="express"' in html
    assert 'value="freight"' not in html  # enterprise only: globex is pro
    assert 'name="csrfmiddlewaretoken"' in html
    response = client.post(PAGE, posted(client, PAGE, surface_couriers="express"), follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Saved Couriers → Express." in response.content.decode()
    with tenant_context(pro_tenant):
        stored = Selection.objects.get(registry="surface_couriers")
        assert (stored.slug, stored.user, stored.changed_by) == ("express", None, owner)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"surface_couriers": "freight"}, "Strategy &#x27;freight&#x27; of"),
        ({"surface_couriers": "frieght"}, "Unknown strategy &#x27;frieght&#x27;"),
        ({"surface_couriers": "x" * 5000}, "Unknown strategy &#x27;xxxxxxxx"),
    ],
)
def test_a_hostile_post_is_a_400_and_changes_nothing(
    pro_tenant: Tenant, owner: Any, data: dict[str, str], error: str
) -> None:
    client = client_for(pro_tenant, owner)
    before = rows(pro_tenant)
    response = client.post(PAGE, posted(client, PAGE, surface_alerts="sms", **data))
    assert response.status_code == 400
    assert error in response.content.decode()
    assert rows(pro_tenant) == before  # all or nothing: the valid alerts choice is not saved


def test_an_unknown_registry_in_the_post_is_ignored(pro_tenant: Tenant, owner: Any) -> None:
    client = client_for(pro_tenant, owner)
    before = rows(pro_tenant)
    response = client.post(PAGE, posted(client, PAGE, no_such_registry="x", surface_lokos="y"))
    assert response.status_code == 302
    assert rows(pro_tenant) == before


def test_a_post_without_the_csrf_token_is_refused(pro_tenant: Tenant, owner: Any) -> None:
    client = Client(HTTP_HOST="globex.localhost", enforce_csrf_checks=True)
    with tenant_context(pro_tenant):
        client.force_login(owner)
    before = rows(pro_tenant)
    response = client.post(PAGE, {"surface_couriers": "express"})
    assert response.status_code == 403
    assert rows(pro_tenant) == before


def test_this_tenants_session_on_another_tenants_host_is_anonymous(
    pro_tenant: Tenant, free_tenant: Tenant, owner: Any
) -> None:
    client = client_for(pro_tenant, owner)
    before = rows(pro_tenant), rows(free_tenant)
    response = client.post(PAGE, {"surface_couriers": "post"}, HTTP_HOST="acme.localhost")
    # The session lives in globex's schema: on acme's host nobody is signed in.
    assert (response.status_code, response["Location"]) == (
        302,
        "/accounts/login/?next=/strategies/",
    )
    assert (rows(pro_tenant), rows(free_tenant)) == before


def test_the_public_schema_is_a_404(public_tenant: Tenant) -> None:
    request = RequestFactory().get(PAGE, HTTP_HOST="localhost")
    request.tenant = public_tenant
    request.user = AnonymousUser()
    with pytest.raises(Http404, match="belong to a tenant"):
        SelectionsView.as_view()(request)


def test_a_member_chooses_for_themselves_only(pro_tenant: Tenant, member: Any) -> None:
    client = client_for(pro_tenant, member)
    response = client.get(MINE)
    assert response.status_code == 200
    form = response.context["form"]
    assert "surface_looks" in form.fields  # user_selectable
    assert "surface_couriers" not in form.fields
    before_tenant = [row for row in rows(pro_tenant)[0] if row[2] is None]
    data = posted(client, MINE, surface_looks="dark", surface_couriers="express")
    response = client.post(MINE, data)
    assert response.status_code == 302
    with tenant_context(pro_tenant):
        stored = Selection.objects.get(registry="surface_looks")
        assert (stored.slug, stored.user) == ("dark", member)
    assert [row for row in rows(pro_tenant)[0] if row[2] is None] == before_tenant
    response = client.post(MINE, posted(client, MINE, surface_looks="contrast"))  # needs a group
    assert response.status_code == 400
    with tenant_context(pro_tenant):
        assert Selection.objects.get(registry="surface_looks").slug == "dark"


def test_a_member_goes_back_to_the_sites_choice(pro_tenant: Tenant, member: Any) -> None:
    client = client_for(pro_tenant, member)
    client.post(MINE, posted(client, MINE, surface_looks="dark"))
    html = client.get(MINE).content.decode()
    assert 'name="reset" value="surface_looks"' in html
    before = rows(pro_tenant)
    for hostile in ("surface_couriers", "no_such_registry", "x" * 5000):
        response = client.post(MINE, {"reset": hostile})
        assert response.status_code == 400
        assert "no registry you can choose for yourself here" in response.content.decode()
    assert rows(pro_tenant) == before
    response = client.post(MINE, {"reset": "surface_looks"}, follow=True)
    assert response.redirect_chain == [(MINE, 302)]
    message = "Surface looks: the site&#x27;s choice applies to you again."
    assert message in response.content.decode()
    with tenant_context(pro_tenant):
        assert not Selection.objects.filter(registry="surface_looks").exists()
