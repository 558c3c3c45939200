"""End to end: the demo served by a real server, driven by Debian's Chromium through Playwright.

The server is ``manage.py runserver`` in a subprocess, on a database of its own (created,
migrated and seeded with ``seed_demo`` here, dropped afterwards): the test database's
transaction-per-test isolation cannot reach another process. Chromium resolves
``*.localhost`` to 127.0.0.1, so every tenant's site is reached by its own host name.
Screenshots of the key pages go to ``artifacts/browser/`` (git-ignored).

Without Chromium (``apt-get install chromium``; ``SWITCHYARD_CHROMIUM`` names another binary)
the tests are skipped; under ``CI=true`` that is a failure instead.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.servers import free_port, scratch_database, stop, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = Path(os.environ.get("SWITCHYARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]
PASSWORD = "switchyard"
# The demo tour's screenshots are taken at this width (docs/images/).
VIEWPORT = {"width": 1000, "height": 720}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> None:
    """Skip with how to install the browser; under CI=true, fail instead."""
    message = (
        f"{reason}. The browser tests drive Debian's Chromium: install it with "
        "`apt-get install chromium` (or point SWITCHYARD_CHROMIUM at a Chromium binary)"
    )
    if in_ci():
        pytest.fail(f"{message}. CI=true: this is a failure, not a skip.", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium, started once for this module (stopped before other modules run)."""
    if not CHROMIUM.exists():
        unavailable(f"No Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
    except Exception as error:
        playwright.stop()
        unavailable(f"Chromium at {CHROMIUM} did not start ({type(error).__name__}: {error})")
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture(scope="module")
def server(chromium: Any) -> Iterator[int]:
    """The demo on a fresh database, seeded and served on a free port; yields the port."""
    with scratch_database("sy_browser") as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "example_site.settings",
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "0",  # as in production: no debug page for anyone
        }
        env.pop("REDIS_URL", None)  # one server process: its local-memory cache is right
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        port = free_port()
        manage = [sys.executable, "example_site/manage.py"]
        process = None
        try:
            setup = (
                ["migrate_schemas", "--noinput", "-v", "0"],
                ["seed_demo", "--port", str(port)],
            )
            for command in setup:
                result = subprocess.run(
                    [*manage, *command],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
                assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stderr}"
            log = ARTIFACTS / "server.log"
            # --insecure: runserver serves the static files (the dependent-choices script)
            # with DEBUG off too, as a production site's web server would.
            command = [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"]
            with log.open("w") as output:
                process = subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
                )
            wait_until_serving(port, process, log)
            yield port
        finally:
            stop(process)


class Site:
    """One browser tab on one host of the served demo."""

    def __init__(self, page: Any, host: str, port: int) -> None:
        self.page = page
        self.base = f"http://{host}:{port}"

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def log_in(self, username: str) -> None:
        self.go("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state()

    def text(self, selector: str) -> str:
        return str(self.page.inner_text(selector))

    def shot(self, name: str) -> None:
        self.page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


@pytest.fixture
def browse(chromium: Any, server: int) -> Iterator[Any]:
    """``browse("acme.localhost", "owner")``: a fresh browser session, logged in if asked."""
    contexts = []

    def open_site(host: str, username: str | None = None) -> Site:
        context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
        contexts.append(context)
        site = Site(context.new_page(), host, server)
        if username is not None:
            site.log_in(username)
        return site

    yield open_site
    for context in contexts:
        context.close()


def test_an_owner_chooses_a_set_of_channels_and_sees_it_in_force(browse: Any) -> None:
    acme = browse("acme.localhost", "owner")
    acme.go("/")
    assert acme.text("#notification-strategy") == "E-mail"
    assert acme.text("#notification-reason") == "(a mandatory strategy of the registry)"
    acme.shot("dashboard-acme-owner")

    acme.page.click("#settings-link")
    channels = "#settings-notifications"
    # E-mail is mandatory: checked, and its box cannot be unchecked.
    assert acme.page.is_checked(f"{channels} input[type=checkbox][value=email]")
    assert acme.page.is_disabled(f"{channels} input[type=checkbox][value=email]")
    acme.page.check(f"{channels} input[value=slack]")
    acme.page.fill(f"{channels} input[name=notifications-position-slack]", "1")
    acme.page.fill(f"{channels} input[name=notifications-position-email]", "2")
    # Blur the number input first: after a full-page screenshot Chromium swallowed the click
    # that would have taken the focus from it (no submission at all).
    acme.page.locator(f"{channels} input[name=notifications-position-email]").blur()
    acme.shot("settings-acme-owner")
    acme.page.click("#save-settings")
    assert "Saved Notifications → Slack, E-mail." in acme.text(".messages")

    acme.page.click("text=Dashboard")
    assert acme.text("#notification-strategy") == "Slack, E-mail"
    assert acme.text("#notification-reason") == "(the tenant's selection)"
    assert "in force" in acme.text("#notification-slack")
    assert "in force" in acme.text("#notification-email")


def test_an_owner_configures_a_card_processor_and_sees_it_in_force(browse: Any) -> None:
    acme = browse("acme.localhost", "owner")
    acme.go("/")
    assert "stripe needs publishable_key, secret_key" in acme.text("#payment-stripe")
    acme.page.click("#settings-link")
    acme.page.check("#settings-payments input[value=stripe]")
    acme.page.click("#save-settings")  # not configured yet: refused, nothing stored
    assert "stripe needs publishable_key, secret_key" in acme.text("#settings-payments")
    acme.page.check("#settings-payments input[value=stripe]")
    acme.page.fill("#id_payments-stripe-publishable_key", "pk_test_acme_51")
    acme.page.fill("#id_payments-stripe-secret_key", "sk_test_acme_0123456789")
    acme.page.fill("#id_payments-stripe-statement_descriptor", "ACME ADD-ONS")
    acme.shot("settings-acme-configure-stripe")
    acme.page.click("#save-settings")
    assert "Saved Payments → Card processor (Stripe)." in acme.text(".messages")

    acme.page.click("text=Dashboard")
    assert acme.text("#payment-strategy") == "Card processor (Stripe)"
    assert acme.text("#payment-reason") == "(the tenant's selection)"
    shown = acme.text("#payment-config")
    assert "pk_test_acme_51" in shown and "••••" in shown
    assert "sk_test_acme" not in acme.page.content()
    acme.shot("dashboard-acme-stripe")
    acme.go("/settings/")
    assert "Stored: ••••6789. Leave blank to keep it." in acme.text("#config-payments-stripe")
    assert "sk_test_acme" not in acme.page.content()
    acme.shot("settings-acme-stripe-configured")


def test_checkout_charges_through_the_gateway_and_notifies(browse: Any) -> None:
    initech = browse("initech.localhost", "owner")
    initech.go("/checkout/")
    assert "Invoice (net 30)" in initech.text("#checkout-payments")
    initech.page.check("input[value=support]")
    initech.page.fill("#id_quantity", "3")
    initech.page.click("button[name=preview]")
    assert initech.text("#quote-total") == "150.00"  # 3 x 2 seats x 25.00
    initech.shot("checkout-initech-owner")

    initech.page.click("#place-order")
    assert "placed" in initech.text(".messages")
    assert initech.text("#receipt-text") == "Invoiced 150.00, due in 30 days"
    assert initech.text("#receipt-reference").startswith("INV-")
    assert "orders@initech.example.com" in initech.text("#notifications")
    initech.shot("order-initech-owner")

    initech.page.click("text=Outbox")
    assert "New order" in initech.text("#outbox")


def test_a_member_downloads_the_export_in_force(browse: Any) -> None:
    globex = browse("globex.localhost", "member")
    globex.go("/orders/")
    assert globex.text("#export-link") == "Download as Excel (XLSX)"
    globex.shot("orders-globex-member")
    with globex.page.expect_download() as downloading:
        globex.page.click("#export-link")
    download = downloading.value
    assert download.suggested_filename.startswith("globex-orders-")
    assert download.suggested_filename.endswith(".xlsx")
    saved = ARTIFACTS / download.suggested_filename
    download.save_as(saved)
    sheet = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))["Orders"]
    assert sheet["A1"].value == "Number"
    assert sorted(row[3] for row in sheet.iter_rows(min_row=2, values_only=True)) == [2, 12]


def test_a_member_is_refused_the_settings(browse: Any) -> None:
    globex = browse("globex.localhost", "member")
    globex.go("/")
    assert globex.page.locator("#settings-link").count() == 0
    assert globex.text("#export-strategy") == "Excel (XLSX)"  # Finance may: pro plan and perm
    globex.shot("dashboard-globex-member")
    response = globex.go("/settings/")
    assert response.status == 403
    assert globex.text("#forbidden").startswith(
        "User 'member' may not change the tenant's selections: that needs the "
        "'engine.change_selection' permission"
    )


def test_the_card_network_follows_the_payment_method(browse: Any) -> None:
    initech = browse("initech.localhost", "owner")  # seeded to pay by invoice
    initech.go("/settings/")
    networks = "#settings-card_networks"
    mastercard = initech.page.locator(f"{networks} input[value=mastercard]")
    assert not mastercard.is_visible()
    nothing = "Nothing to choose: no strategy is valid under payments=invoice."
    assert initech.text(f"{networks} .switchyard-nothing") == nothing

    initech.page.check("#settings-payments input[value=card]")  # re-offered at once
    assert mastercard.is_visible()
    assert not initech.page.locator(f"{networks} .switchyard-nothing").is_visible()
    mastercard.check()
    initech.shot("settings-initech-card-network")
    initech.page.click("#save-settings")
    assert "Card network → Mastercard" in initech.text(".messages")
    initech.page.click("text=Dashboard")
    assert initech.text("#card-network-strategy") == "Mastercard"

    initech.page.click("#settings-link")
    initech.page.check("#settings-payments input[value=invoice]")
    assert not mastercard.is_visible()
    initech.page.click("#save-settings")
    initech.page.click("text=Dashboard")
    assert initech.text("#card-network-strategy") == (
        "No card network is available under payments=invoice."
    )
    initech.shot("dashboard-initech-invoice")

    # Back to card: the network stored before is offered, and chosen, again.
    initech.page.click("#settings-link")
    initech.page.check("#settings-payments input[value=card]")
    assert mastercard.is_checked()
    initech.page.click("#save-settings")
    initech.page.click("text=Dashboard")
    assert initech.text("#card-network-strategy") == "Mastercard"
    assert initech.text("#card-network-reason") == "(the tenant's selection)"
    # As seeded again, for the tests after this one.
    initech.page.click("#settings-link")
    initech.page.check("#settings-payments input[value=invoice]")
    initech.page.click("#save-settings")
    assert "Payments → Invoice (net 30)." in initech.text(".messages")


def test_a_member_chooses_their_own_export_format(browse: Any) -> None:
    acme = browse("acme.localhost", "member")
    acme.go("/")
    acme.page.click("#mine-link")
    acme.page.check("#settings-exports input[value=json]")
    acme.shot("my-choices-acme-member")
    acme.page.click("#save-settings")
    assert "Saved Exports → JSON." in acme.text(".messages")
    acme.page.click("text=Dashboard")
    assert acme.text("#export-strategy") == "JSON"
    assert acme.text("#export-reason") == "(the user's own selection)"
    acme.page.click("#mine-link")
    acme.page.click("#reset-exports")  # back to the tenant's choice
    assert "the site's choice applies to you again" in acme.text(".messages")
    acme.page.click("text=Dashboard")
    assert acme.text("#export-strategy") == "CSV"
    assert acme.text("#export-reason") == "(the registry's default)"


def test_a_visitor_gets_the_public_page_and_a_way_to_log_in(browse: Any) -> None:
    globex = browse("globex.localhost")
    globex.go("/")
    assert globex.page.locator("#public-login").count() == 1
    assert globex.page.locator("#plan").count() == 0  # the plan is for the tenant's users
    assert globex.page.locator("#payments").count() == 0
    globex.shot("public-globex")
    globex.page.click("#public-login")
    globex.page.wait_for_load_state()
    assert "/accounts/login/" in globex.page.url


def test_the_platform_shows_every_tenant_and_the_flags(browse: Any) -> None:
    platform = browse("localhost")
    platform.go("/")
    for schema in ("acme", "globex", "initech"):
        assert platform.page.locator(f"#tenant-{schema}").count() == 1
    platform.shot("platform-home")
    platform.log_in("admin")
    platform.go("/platform/")
    assert "invoice" in platform.text("#tenant-initech")
    assert platform.page.locator("#flags").count() == 1
    platform.shot("platform-strategies")


def test_the_platform_kill_switch_moves_a_tenant_off_and_back(browse: Any) -> None:
    globex = browse("globex.localhost", "owner")
    globex.go("/settings/")
    globex.page.check("#settings-payments input[value=crypto]")
    globex.page.click("#save-settings")
    globex.go("/")
    assert globex.text("#payment-strategy") == "Crypto (beta)"

    platform = browse("localhost", "admin")
    platform.go("/admin/engine/strategystate/?registry=payments")
    platform.page.check("tr:has(a:text-is('crypto')) input.action-select")
    platform.page.fill("input[name=note]", "provider outage")
    platform.page.select_option("select[name=action]", "make_disabled")
    platform.page.click("button[name=index]")
    assert "Now disabled: payments.crypto." in platform.text(".messagelist")
    platform.shot("platform-kill-switch-admin")
    platform.go("/platform/")
    assert platform.text("#status-payments-crypto .status") == "disabled"
    assert "provider outage" in platform.text("#status-payments-crypto")
    platform.shot("platform-strategy-status")

    globex.go("/")  # the tenant's next request: on its fallback, with the note
    assert globex.text("#payment-strategy") == "Credit card"
    assert "'crypto' is disabled by the platform: provider outage" in globex.text(
        "#payments .skipped"
    )
    globex.shot("dashboard-globex-kill-switch")
    globex.go("/settings/")
    assert globex.text("#platform-payments-crypto") == "Disabled by the platform: provider outage"

    platform.go("/admin/engine/strategystate/?registry=payments")
    platform.page.check("tr:has(a:text-is('crypto')) input.action-select")
    platform.page.select_option("select[name=action]", "make_active")
    platform.page.click("button[name=index]")
    globex.go("/")  # enabled again: the stored choice is back
    assert globex.text("#payment-strategy") == "Crypto (beta)"
    assert globex.text("#payment-reason") == "(the tenant's selection)"

    globex.go("/settings/")  # leave globex as the seed made it, for the other tests
    globex.page.check("#settings-payments input[value=card]")
    globex.page.click("#save-settings")


def test_a_missing_browser_is_a_skip_but_a_failure_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="install it with `apt-get install chromium`"):
        unavailable("No Chromium at /nowhere")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true: this is a failure, not a skip"):
        unavailable("No Chromium at /nowhere")
