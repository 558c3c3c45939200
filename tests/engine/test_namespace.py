"""request.strategy's namespace: lazy, memoised, attribute and item access, explain()."""

from __future__ import annotations

import json

import pytest

from conditions import Context
from engine import (
    Reason,
    Registry,
    Strategy,
    StrategyNamespace,
    UnknownRegistry,
    UnknownStrategy,
    registries,
)
from engine.registry import RESERVED_KEYS
from tenants.models import Tenant
from tests.engine.core_support import Counted, Fixed, checks

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


@pytest.fixture
def exports() -> type[Registry]:
    class Exports(Registry):
        """How reports are exported."""

        key = "report_exports"
        default = "pdf"

    class Pdf(Strategy):
        registry = Exports
        slug = "pdf"
        label = "PDF"
        condition = Fixed("pdf", False)

    class Csv(Strategy):
        registry = Exports
        slug = "csv"
        priority = 1
        condition = Counted("csv", True)

    class Xlsx(Strategy):
        registry = Exports
        slug = "xlsx"

    return Exports


@pytest.fixture
def namespace(exports: type[Registry], pro_tenant: Tenant) -> StrategyNamespace:
    checks.clear()
    return StrategyNamespace(Context(tenant=pro_tenant))


def test_nothing_happens_until_a_registry_is_read(exports: type[Registry]) -> None:
    built: list[Context] = []

    def make() -> Context:
        built.append(Context())
        return built[-1]

    namespace = StrategyNamespace(make)
    assert repr(namespace) == "<StrategyNamespace resolved: nothing yet>"
    assert built == []
    assert "report_exports" in namespace and list(namespace) == namespace.keys()
    assert built == []  # listing registries needs no context either


def test_attribute_and_item_access_share_one_memoised_resolution(
    namespace: StrategyNamespace,
) -> None:
    first = namespace.report_exports
    assert first.slug == "csv"
    assert namespace["report_exports"] is first
    assert namespace.get("report_exports") is first
    assert namespace.resolution("report_exports").strategy is first
    assert namespace.resolution("report_exports").reason is Reason.FALLBACK
    assert first.context is namespace.context
    assert checks == {"csv": 1}
    assert repr(namespace) == "<StrategyNamespace resolved: report_exports=csv>"


def test_registry_classes_are_accepted_where_keys_are(
    namespace: StrategyNamespace, exports: type[Registry]
) -> None:
    assert namespace.resolution(exports) is namespace.resolution("report_exports")
    assert [s.slug for s in namespace.available(exports)] == ["csv", "xlsx"]


def test_unknown_keys_raise_attribute_and_key_errors_with_a_suggestion(
    namespace: StrategyNamespace,
) -> None:
    message = r"No registry has the key 'report_export'\. Did you mean 'report_exports'\?"
    with pytest.raises(AttributeError, match=message):
        namespace.report_export  # noqa: B018
    with pytest.raises(KeyError, match=message):
        namespace["report_export"]
    with pytest.raises(UnknownRegistry):
        namespace.explain("report_exprts")
    assert not hasattr(namespace, "nothing_like_it")
    assert "report_export" not in namespace
    assert "report_exports" in dir(namespace)


def test_available_lists_what_the_request_may_use(namespace: StrategyNamespace) -> None:
    assert [s.slug for s in namespace.available("report_exports")] == ["csv", "xlsx"]


def test_explain_covers_every_strategy_and_what_is_in_force(
    namespace: StrategyNamespace,
) -> None:
    explained = namespace.explain("report_exports")
    assert [(e.slug, e.available, e.in_force) for e in explained.strategies] == [
        ("csv", True, True),
        ("pdf", False, False),
        ("xlsx", True, False),
    ]
    assert explained.in_force is explained["csv"]
    assert explained.resolution is namespace.resolution("report_exports")  # reused, not redone
    assert str(explained).splitlines() == [
        "report_exports: csv (the first available strategy by priority)",
        "  skipped: the registry's default 'pdf' is unavailable: fixed:pdf=False is not met",
        "  ✓ csv (Csv) [in force]",
        "    ✓ counted:csv  [memo]",
        "  ✗ pdf (PDF)",
        "    ✗ fixed:pdf=False  [memo]",
        "  ✓ xlsx (Xlsx)",
        "    ✓ always",
    ]
    data = explained.as_dict()
    json.dumps(data)  # serialisable
    assert data["in_force"] == {
        "registry": "report_exports",
        "slug": "csv",
        "reason": "fallback",
        "skipped": data["skipped"],
    }
    assert data["skipped"][0]["why"] == "unavailable"
    assert data["strategies"][1]["explanation"]["text"] == "fixed:pdf=False"
    with pytest.raises(UnknownStrategy, match="Did you mean 'pdf'"):
        explained["pdff"]


def test_explain_when_nothing_is_available(pro_tenant: Tenant) -> None:
    class Closed(Registry):
        key = "closed_explained"

    class Shut(Strategy):
        registry = Closed
        slug = "shut"
        condition = Fixed("open", False)

    explained = StrategyNamespace(Context(tenant=pro_tenant)).explain("closed_explained")
    assert explained.resolution is None and explained.in_force is None
    assert str(explained).splitlines()[0] == "closed_explained: no strategy is available"
    assert explained.as_dict()["error"].startswith("No strategy of 'closed_explained'")


def test_the_namespace_api_names_are_reserved_keys() -> None:
    public = {name for name in dir(StrategyNamespace) if not name.startswith("_")}
    assert public <= RESERVED_KEYS
    assert not RESERVED_KEYS & set(registries())
