from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from example_site.demo import DEMO_LOGINS, DEMO_PASSWORD, DEMO_TENANTS, seed_logins, seed_tenants


class Command(BaseCommand):
    help = "Create the demo tenants and logins (again safely) and print where to find them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", default="8000", help="Port shown in the printed URLs.")

    def handle(self, *args: Any, port: str, **options: Any) -> None:
        seed_tenants()
        seed_logins()
        self.stdout.write(
            self.style.SUCCESS("Demo ready. Every password is " + repr(DEMO_PASSWORD))
        )
        self.stdout.write(f"  platform   http://localhost:{port}/   login: admin")
        logins = ", ".join(username for username, _ in DEMO_LOGINS)
        for demo in DEMO_TENANTS:
            self.stdout.write(
                f"  {demo.name:<10} http://{demo.domain}:{port}/"
                f"   plan: {demo.plan:<10} logins: {logins}"
            )
