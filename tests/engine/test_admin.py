"""engine.admin through real requests: each tenant's admin edits its own selections only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django_tenants.utils import tenant_context

from engine.models import Selection, SelectionHistory
from engine.storage.writes import write_selection
from engine.testing import override_condition
from tenants.models import Tenant
from tests.engine.surfaces_app.models import Parcel
from tests.engine.surfaces_app.strategies import Express, Freight
from tests.engine.surfaces_support import client_for, drones_for, rows
from tests.helpers import make_user

PAGE = "/admin/engine/selection/"
HISTORY = "/admin/engine/selectionhistory/"


def form_data(response: Any, **changes: str) -> dict[str, Any]:
    """What the browser posts back: every editable field's value on the page, with ``changes``."""
    form = response.context["form"]
    data = {name: form[name].value() for name, field in form.fields.items() if not field.disabled}
    return {**data, **changes}


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="radio" name="{name}" value="([^"]+)"[^>]* checked', html)


@pytest.fixture
def owner(pro_tenant: Tenant) -> Any:
    return make_user(pro_tenant, "owner", superuser=True)


@pytest.fixture
def admin_client(pro_tenant: Tenant, owner: Any) -> Client:
    """globex's owner (a superuser of globex's schema) on globex's host."""
    return client_for(pro_tenant, owner)


# The selections page ----------------------------------------------------------------------


def test_the_page_offers_available_strategies_and_explains_the_others(
    admin_client: Client, pro_tenant: Tenant
) -> None:
    drones_for("initech")
    response = admin_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="surface_couriers" value="post"' in html
    assert 'name="surface_couriers" value="express"' in html
    assert 'value="freight"' not in html and 'value="drone"' not in html
    assert checked(html, "surface_couriers") == ["post"]  # nothing stored: the default
    why = html[html.index('id="registry-surface_couriers"') :]
    why = why[: why.index("</fieldset>")]
    assert "Not available here" in why
    assert '<li data-slug="drone"><strong>Drone &lt;beta&gt;</strong>' in why
    assert "<code>flag:surface_drones</code>" in why
    assert (
        "<code>plan:enterprise</code>" in why and "tenant globex is on plan &#x27;pro&#x27;" in why
    )
    assert "schema <code>globex</code>" in html


def test_saving_writes_through_select_with_history(
    admin_client: Client, pro_tenant: Tenant, owner: Any
) -> None:
    page = admin_client.get(PAGE)
    response = admin_client.post(PAGE, form_data(page, surface_couriers="express"))
    assert response.status_code == 302 and response["Location"] == PAGE
    with tenant_context(pro_tenant):
        assert Selection.objects.get(registry="surface_couriers").slug == "express"
        history = SelectionHistory.objects.get()
        assert (history.via, history.changed_by_id, history.before_slug, history.after_slug) == (
            "admin",
            owner.pk,
            None,
            "express",
        )
    follow = admin_client.get(PAGE)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Saved 1 selection: surface_couriers → express."
    ]
    assert checked(follow.content.decode(), "surface_couriers") == ["express"]


def test_posting_the_page_unchanged_writes_nothing(
    admin_client: Client, pro_tenant: Tenant
) -> None:
    page = admin_client.get(PAGE)
    response = admin_client.post(PAGE, form_data(page), follow=True)
    assert "No selection changed." in response.content.decode()
    assert rows(pro_tenant) == ([], [])


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        (
            "freight",
            "Strategy &#x27;freight&#x27; of &#x27;surface_couriers&#x27; is not available here",
        ),
        (
            "drone",
            "Strategy &#x27;drone&#x27; of &#x27;surface_couriers&#x27; is not available here",
        ),
        ("sms", "Unknown strategy &#x27;sms&#x27; in &#x27;surface_couriers&#x27;."),
        ("teleport", "Unknown strategy &#x27;teleport&#x27; in &#x27;surface_couriers&#x27;."),
    ],
)
def test_tampered_posts_are_refused_and_store_nothing(
    admin_client: Client, pro_tenant: Tenant, enterprise_tenant: Tenant, posted: str, message: str
) -> None:
    before = rows(pro_tenant), rows(enterprise_tenant)
    page = admin_client.get(PAGE)
    data = form_data(page, surface_couriers=posted, surface_looks="dark")
    response = admin_client.post(PAGE, {**data, "tenant": "initech", "schema_name": "initech"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (rows(pro_tenant), rows(enterprise_tenant)) == before


def test_a_session_of_another_tenant_is_not_signed_in_here(
    pro_tenant: Tenant, free_tenant: Tenant, owner: Any
) -> None:
    make_user(free_tenant, "owner", superuser=True)  # same name, another schema
    globex_client = client_for(pro_tenant, owner)
    page = globex_client.get(PAGE)
    data = form_data(page, surface_couriers="express")
    # globex's session cookie sent to acme's host: acme's schema has no such session.
    acme = Client(HTTP_HOST="acme.localhost")
    acme.cookies = globex_client.cookies
    response = acme.post(PAGE, data)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert rows(free_tenant) == rows(pro_tenant) == ([], [])


def test_availability_is_checked_again_at_save(admin_client: Client, pro_tenant: Tenant) -> None:
    page = admin_client.get(PAGE)
    data = form_data(page, surface_couriers="express", surface_looks="dark")
    with override_condition(Express, False):
        response = admin_client.post(PAGE, data)
    assert response.status_code == 200
    assert "not available here" in response.content.decode()
    assert rows(pro_tenant) == ([], [])


def test_a_stored_selection_no_longer_available_is_kept(
    admin_client: Client, pro_tenant: Tenant
) -> None:
    with tenant_context(pro_tenant):
        write_selection("surface_couriers", "freight", via="test")  # e.g. before a downgrade
    page = admin_client.get(PAGE)
    html = page.content.decode()
    assert checked(html, "surface_couriers") == ["freight"]
    assert "(current choice, not available now)" in html
    assert "Skipped: the tenant&#x27;s selection &#x27;freight&#x27; is unavailable" in html
    admin_client.post(PAGE, form_data(page, surface_looks="dark"))
    with tenant_context(pro_tenant):
        assert dict(Selection.objects.values_list("registry", "slug")) == {
            "surface_couriers": "freight",
            "surface_looks": "dark",
        }


def test_view_permission_shows_the_page_without_saving(pro_tenant: Tenant) -> None:
    viewer = make_user(pro_tenant, "viewer", staff=True, permissions=("engine.view_selection",))
    client = client_for(pro_tenant, viewer)
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="surface_couriers" value="post"' in html and " disabled" in html
    assert 'name="_save"' not in html
    assert client.post(PAGE, {"surface_couriers": "express"}).status_code == 403
    assert rows(pro_tenant) == ([], [])


def test_the_change_permission_saves_like_a_superuser(pro_tenant: Tenant) -> None:
    manager = make_user(pro_tenant, "manager", staff=True, permissions=("engine.change_selection",))
    client = client_for(pro_tenant, manager)
    page = client.get(PAGE)
    response = client.post(PAGE, form_data(page, surface_couriers="express"))
    assert response.status_code == 302
    with tenant_context(pro_tenant):
        assert Selection.objects.get(registry="surface_couriers").slug == "express"


def test_staff_without_permission_and_members_are_refused(pro_tenant: Tenant) -> None:
    staff = make_user(pro_tenant, "staff", staff=True)
    assert client_for(pro_tenant, staff).get(PAGE).status_code == 403
    member = make_user(pro_tenant, "member")
    response = client_for(pro_tenant, member).get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_rows_are_not_added_changed_or_deleted_one_by_one(
    admin_client: Client, pro_tenant: Tenant
) -> None:
    with tenant_context(pro_tenant):
        row = write_selection("surface_couriers", "express", via="test")
    assert admin_client.get(f"{PAGE}add/").status_code == 404
    assert admin_client.post(f"{PAGE}{row.pk}/delete/", {"post": "yes"}).status_code == 404
    assert admin_client.post(f"{PAGE}{row.pk}/change/", {"slug": "freight"}).status_code == 404
    with tenant_context(pro_tenant):
        assert Selection.objects.get().slug == "express"


def test_users_own_choices_are_listed_read_only(admin_client: Client, pro_tenant: Tenant) -> None:
    member = make_user(pro_tenant, "member")
    with tenant_context(pro_tenant):
        write_selection("surface_looks", "dark", user=member, via="test")
    html = admin_client.get(PAGE).content.decode()
    table = html[html.index('id="user-selections"') :]
    assert "<td><code>surface_looks</code></td><td>member</td><td><code>dark</code></td>" in table


def test_the_index_links_the_page(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()
    assert f'href="{PAGE}"' in html
    assert 'href="/admin/engine/selection/add/"' not in html


# The public site ---------------------------------------------------------------------------


def test_the_public_admin_offers_no_selections(public_tenant: Tenant, pro_tenant: Tenant) -> None:
    staff = make_user(public_tenant, "platform", superuser=True)
    client = client_for(public_tenant, staff)
    index = client.get("/admin/").content.decode()
    # The engine's section there holds the platform's strategy state only.
    assert "/admin/engine/selection" not in index
    assert "/admin/engine/strategystate/" in index
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"surface_couriers": "post"}).status_code == 403
    assert client.get(HISTORY).status_code == 403
    assert rows(public_tenant) == rows(pro_tenant) == ([], [])


# History -----------------------------------------------------------------------------------


def test_the_history_is_read_only(admin_client: Client, pro_tenant: Tenant, owner: Any) -> None:
    member = make_user(pro_tenant, "member")
    with tenant_context(pro_tenant):
        write_selection("surface_couriers", "express", changed_by=owner, via="api")
        write_selection("surface_looks", "dark", user=member, via="form")
        entry = SelectionHistory.objects.get(registry="surface_couriers")
    html = admin_client.get(HISTORY).content.decode()
    assert "surface_couriers" in html and "the tenant" in html and "member" in html
    assert admin_client.get(f"{HISTORY}add/").status_code == 403
    detail = admin_client.get(f"{HISTORY}{entry.pk}/change/")
    assert detail.status_code == 200 and 'name="_save"' not in detail.content.decode()
    assert admin_client.post(f"{HISTORY}{entry.pk}/change/", {"via": "x"}).status_code == 403
    assert admin_client.post(f"{HISTORY}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    with tenant_context(pro_tenant):
        assert SelectionHistory.objects.count() == 2


def test_the_history_names_deleted_users_by_id(admin_client: Client, pro_tenant: Tenant) -> None:
    member = make_user(pro_tenant, "member")
    with tenant_context(pro_tenant):
        write_selection("surface_looks", "dark", user=member, changed_by=member, via="form")
        member_id = member.pk
        member.delete()
    html = admin_client.get(HISTORY).content.decode()
    assert f"user #{member_id} (deleted)" in html


# StrategyFieldAdminMixin -------------------------------------------------------------------

PARCELS = "/admin/surfaces_app/parcel/"


def test_model_fields_offer_what_the_admin_user_may_use(
    admin_client: Client, pro_tenant: Tenant
) -> None:
    html = admin_client.get(f"{PARCELS}add/").content.decode()
    assert 'name="courier" value="express"' in html and 'value="freight"' not in html
    assert 'name="alerts" value="sms"' in html and 'value="pager"' not in html
    assert 'name="backup" value=""' in html  # optional: "None" is offered
    response = admin_client.post(
        f"{PARCELS}add/", {"name": "box", "courier": "express", "backup": "", "alerts": ["sms"]}
    )
    assert response.status_code == 302
    with tenant_context(pro_tenant):
        parcel = Parcel.objects.get()
        assert (parcel.courier, parcel.backup, parcel.alerts) == (
            Express,
            None,
            (parcel.alerts[0],),
        )


@pytest.mark.parametrize(
    "posted",
    [
        {"courier": "freight"},
        {"courier": "email"},
        {"courier": "teleport"},
        {"backup": "freight"},
        {"alerts": ["sms", "pager"]},
    ],
)
def test_crafted_model_posts_are_refused(
    admin_client: Client, pro_tenant: Tenant, posted: dict[str, Any]
) -> None:
    data = {"name": "box", "courier": "post", "backup": "", "alerts": [], **posted}
    response = admin_client.post(f"{PARCELS}add/", data)
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    with tenant_context(pro_tenant):
        assert not Parcel.objects.exists()


def test_editing_another_field_keeps_an_unavailable_or_missing_value(
    admin_client: Client, pro_tenant: Tenant
) -> None:
    with tenant_context(pro_tenant):
        parcel = Parcel.objects.create(name="box", courier=Freight)
        Parcel.objects.filter(pk=parcel.pk).update(backup="teleport")
    url = f"{PARCELS}{parcel.pk}/change/"
    page = admin_client.get(url)
    html = page.content.decode()
    assert re.search(r'name="courier" value="freight"[^>]* checked', html)
    assert "(current choice, no longer registered)" in html
    data = {"name": "renamed", "courier": "freight", "backup": "teleport", "alerts": []}
    assert admin_client.post(url, data).status_code == 302
    with tenant_context(pro_tenant):
        assert Parcel.objects.filter(name="renamed", courier="freight", backup="teleport").exists()
    listing = admin_client.get(PARCELS).content.decode()
    assert '<td class="field-courier">Freight</td>' in listing
    assert "teleport (not registered)" in listing


# Hostile filters and searches: a 400, not a DataError ---------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "via=%00",
        "registry=%00",
        "q=%00",
        "via=api%00x",
        "q=%1b%5b31m",
        "%00=1",
        "changed_at__year=%00",
    ],
)
def test_control_characters_in_history_filters_are_a_400(
    admin_client: Client, pro_tenant: Tenant, settings: Any, query: str
) -> None:
    # Without the demo's guard middleware: the admin refuses them itself.
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.startswith("example_site.")]
    with tenant_context(pro_tenant):
        write_selection("surface_couriers", "express", via="api")
    before = rows(pro_tenant)
    admin_client.raise_request_exception = False
    response = admin_client.get(f"{HISTORY}?{query}")
    assert response.status_code == 400
    assert admin_client.get(f"{HISTORY}?via=api").status_code == 200  # an honest filter works
    assert rows(pro_tenant) == before
