"""example_site/management/commands/seed_demo.py: seeds, then prints every URL and login."""

from __future__ import annotations

import io

from django.core.management import call_command
from django_tenants.utils import schema_context

from example_site.models import Order
from tenants.models import Tenant


def test_the_command_seeds_and_prints_every_url_and_login(public_tenant: Tenant) -> None:
    out = io.StringIO()
    call_command("seed_demo", port="9000", stdout=out)
    printed = out.getvalue()
    assert "Every password is 'switchyard'." in printed
    assert "Platform site   login: admin" in printed
    for path in ("/", "/platform/", "/admin/"):
        assert f"http://localhost:9000{path}" in printed
    for schema in ("acme", "globex", "initech"):
        for path in ("/", "/settings/", "/checkout/", "/orders/", "/outbox/", "/admin/"):
            assert f"http://{schema}.localhost:9000{path}" in printed
    assert "Globex site, plan pro   logins: owner (superuser), member (in Finance)" in printed
    assert "  Finance    example_site.use_invoice, example_site.export_spreadsheet" in printed
    assert "  crypto_beta  on for globex" in printed
    assert "  slack_alerts on for 50 % of tenants (hashed)" in printed
    with schema_context("initech"):
        assert Order.objects.count() == 2
