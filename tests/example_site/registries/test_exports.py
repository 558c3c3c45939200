"""example_site/registries/exports.py: the files each format writes, and who may use which."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from conditions import Context
from example_site.models import Order
from example_site.registries.exports import (
    Csv,
    ExportFormats,
    Json,
    OrderRow,
    Xlsx,
    order_rows,
)
from tenants.models import Tenant
from tests.example_site.sites import context, make_order

PLACED = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)


@pytest.fixture
def rows(free_tenant: Tenant) -> list[OrderRow]:
    with tenant_context(free_tenant):
        buyer = get_user_model().objects.create_user("buyer")
    make_order(
        free_tenant,
        123456,
        quantity=3,
        placed_at=PLACED,
        payment_method="invoice",
        payment_reference="INV-2025-00001",
        payment_status="invoiced",
        due_on=date(2025, 4, 3),
        placed_by=buyer,
    )
    make_order(free_tenant, 1500, product="storage", product_name="Extra storage, 100 GB")
    with tenant_context(free_tenant):
        return order_rows(Order.objects.select_related("placed_by").order_by("pk"))


def test_the_registry_offers_csv_by_default() -> None:
    assert ExportFormats.key == "exports"
    assert ExportFormats.default == "csv"
    assert ExportFormats.slugs() == ("csv", "json", "xlsx")


def test_csv_writes_a_header_and_one_line_per_order(rows: list[OrderRow]) -> None:
    exporter = Csv(Context())
    assert exporter.content_type == "text/csv; charset=utf-8"
    assert exporter.filename("acme-orders") == "acme-orders.csv"
    lines = list(csv.DictReader(io.StringIO(exporter.render(rows).decode("utf-8"))))
    assert list(lines[0]) == OrderRow.columns()
    assert lines[0]["total"] == "1234.56"
    assert lines[0]["placed_at"] == "2025-03-04T15:30:00+00:00"
    assert lines[0]["due_on"] == "2025-04-03"
    assert lines[0]["placed_by"] == "buyer"
    assert lines[1]["product"] == "Extra storage, 100 GB"  # quoted, not split
    assert (lines[1]["due_on"], lines[1]["placed_by"]) == ("", "")


def test_json_writes_the_orders_their_count_and_total(rows: list[OrderRow]) -> None:
    document = json.loads(Json(Context()).render(rows))
    assert (document["count"], document["total"]) == (2, "1249.56")
    assert document["orders"][0]["reference"] == "INV-2025-00001"
    assert document["orders"][0]["quantity"] == 3
    assert (document["orders"][1]["due_on"], document["orders"][1]["placed_by"]) == (None, "")


def test_xlsx_is_a_workbook_with_typed_cells(rows: list[OrderRow]) -> None:
    exporter = Xlsx(Context())
    assert exporter.filename("acme-orders") == "acme-orders.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(exporter.render(rows)))
    sheet = workbook["Orders"]
    assert [cell.value for cell in sheet[1]] == [
        name.replace("_", " ").capitalize() for name in OrderRow.columns()
    ]
    first = {name: cell for name, cell in zip(OrderRow.columns(), sheet[2], strict=True)}
    assert first["placed_at"].value == datetime(2025, 3, 4, 15, 30)  # UTC wall-clock time
    assert first["total"].value == 1234.56
    assert first["total"].number_format == "#,##0.00"
    assert first["due_on"].is_date
    assert first["quantity"].value == 3
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K3"


def test_who_may_use_which_format(demo: dict[str, Tenant]) -> None:
    def offered(schema: str, username: str | None) -> list[str]:
        with tenant_context(demo[schema]):  # as in a request: groups are the tenant's
            return [s.slug for s in ExportFormats.available(context(demo[schema], username))]

    assert offered("acme", None) == ["csv"]
    assert offered("acme", "member") == ["csv", "json"]  # a developer
    assert offered("acme", "owner") == ["csv", "json"]  # a superuser, but on the free plan
    assert offered("globex", "member") == ["csv", "xlsx"]  # in Finance, on pro
    assert offered("globex", "owner") == ["csv", "json", "xlsx"]
    assert offered("initech", "member") == ["csv", "json"]  # not in Finance
