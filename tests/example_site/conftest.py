"""Fixtures of the demo's tests: the demo's data, seeded inside each test's transaction."""

from __future__ import annotations

import pytest

from example_site.demo import seed_demo
from tenants.models import Tenant
from tests.transactions import settled


@pytest.fixture
def demo(
    public_tenant: Tenant, free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> dict[str, Tenant]:
    """Everything ``make demo`` seeds (rolled back after the test), by schema name.

    Settled as if committed a while ago: the caches are cold and no invalidation is pending.
    """
    with settled():
        seed_demo()
    return {"acme": free_tenant, "globex": pro_tenant, "initech": enterprise_tenant}
