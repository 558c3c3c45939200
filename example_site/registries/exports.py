"""Exports: the file a tenant's orders download as (CSV, JSON, Excel)."""

from __future__ import annotations

import csv
import io
import json
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from conditions import Group, Permission, Superuser
from engine import Registry, Strategy
from tenants.conditions import PlanAtLeast

if TYPE_CHECKING:
    from example_site.models import Order


@dataclass(frozen=True)
class OrderRow:
    """One order as every export format writes it."""

    number: str
    placed_at: datetime
    product: str
    quantity: int
    pricing: str
    total: Decimal
    payment_method: str
    status: str
    reference: str
    due_on: date | None
    placed_by: str

    @classmethod
    def columns(cls) -> list[str]:
        return [field.name for field in fields(cls)]

    @classmethod
    def of(cls, order: Order) -> OrderRow:
        return cls(
            number=order.number,
            placed_at=order.placed_at,
            product=order.product_name,
            quantity=order.quantity,
            pricing=order.pricing,
            total=order.total,
            payment_method=order.payment_method,
            status=order.payment_status,
            reference=order.payment_reference,
            due_on=order.due_on,
            placed_by=order.placed_by.get_username() if order.placed_by else "",
        )


def order_rows(orders: Iterable[Order]) -> list[OrderRow]:
    """Return the rows of ``orders`` (load them with ``select_related("placed_by")``)."""
    return [OrderRow.of(order) for order in orders]


class ExportFormats(Registry):
    """The format a tenant's orders are exported in; each user may prefer their own."""

    key = "exports"
    default = "csv"
    user_selectable = True


class Exporter(Strategy):
    """Writes order rows to a file of one format."""

    registry = ExportFormats
    content_type: ClassVar[str]
    extension: ClassVar[str]

    @abstractmethod
    def render(self, rows: Sequence[OrderRow]) -> bytes:
        """Return the file's bytes for ``rows``."""

    def filename(self, stem: str) -> str:
        """Return the download's file name for ``stem`` (e.g. ``acme-orders-2025-01-31``)."""
        return f"{stem}.{self.extension}"


class Csv(Exporter):
    """Comma-separated values, one order per line, for any spreadsheet or script."""

    slug = "csv"
    label = "CSV"
    priority = 10
    content_type = "text/csv; charset=utf-8"
    extension = "csv"

    def render(self, rows: Sequence[OrderRow]) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(OrderRow.columns())
        for row in rows:
            writer.writerow(_plain(value) for value in astuple(row))
        return buffer.getvalue().encode("utf-8")


class Json(Exporter):
    """A JSON document with the orders and their total, for developers and integrations."""

    slug = "json"
    label = "JSON"
    priority = 20
    content_type = "application/json"
    extension = "json"
    condition = Group("Developers") | Superuser()

    def render(self, rows: Sequence[OrderRow]) -> bytes:
        total = sum((row.total for row in rows), Decimal("0.00"))
        document = {
            "orders": [
                dict(zip(OrderRow.columns(), map(_json, astuple(row)), strict=True)) for row in rows
            ],
            "count": len(rows),
            "total": str(total),
        }
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


class Xlsx(Exporter):
    """An Excel workbook with typed cells, a header row and filters, for finance teams."""

    slug = "xlsx"
    label = "Excel (XLSX)"
    priority = 30
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    extension = "xlsx"
    condition = PlanAtLeast("pro") & Permission("example_site.export_spreadsheet")

    def render(self, rows: Sequence[OrderRow]) -> bytes:
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None  # a new workbook always has one sheet
        sheet.title = "Orders"
        columns = OrderRow.columns()
        sheet.append([name.replace("_", " ").capitalize() for name in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(value) for value in astuple(row)])
        formats = {"placed_at": "yyyy-mm-dd hh:mm", "due_on": "yyyy-mm-dd", "total": "#,##0.00"}
        for index, name in enumerate(columns, start=1):
            letter = get_column_letter(index)
            number_format = formats.get(name)
            if number_format:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = number_format
            longest = max((len(str(cell.value or "")) for cell in sheet[letter]), default=8)
            sheet.column_dimensions[letter].width = min(max(longest, 8) + 2, 48)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = sheet.dimensions
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()


def _plain(value: Any) -> Any:
    """A value as text formats write it: ISO dates, decimals as strings, None as empty."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return "" if value is None else value


def _json(value: Any) -> Any:
    """A value as JSON writes it: like ``_plain``, but None stays null."""
    return None if value is None else _plain(value)


def _cell(value: Any) -> Any:
    # Excel has no time zones: write UTC wall-clock time.
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value
