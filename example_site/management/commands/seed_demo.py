from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from example_site.demo import (
    DEMO_FLAGS,
    DEMO_GROUPS,
    DEMO_PASSWORD,
    DEMO_TENANTS,
    seed_demo,
)


class Command(BaseCommand):
    help = "Create the demo tenants, logins, flags and orders (again safely) and print them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", default="8000", help="Port shown in the printed URLs.")

    def handle(self, *args: Any, port: str, **options: Any) -> None:
        seed_demo()
        write = self.stdout.write
        write(self.style.SUCCESS(f"Demo ready. Every password is {DEMO_PASSWORD!r}."))
        write("")
        write("Platform site   login: admin")
        self.pages(
            f"http://localhost:{port}",
            [
                ("Tenants", "/", ""),
                ("Strategies", "/platform/", "every tenant's strategies in force, and the flags"),
                ("Admin", "/admin/", "tenants and platform flags"),
            ],
        )
        for demo in DEMO_TENANTS:
            groups = ", ".join(demo.member_groups) or "no group"
            write("")
            write(
                f"{demo.name} site, plan {demo.plan}   "
                f"logins: owner (superuser), member (in {groups})"
            )
            self.pages(
                f"http://{demo.domain}:{port}",
                [
                    ("Dashboard", "/", "the strategy in force per registry, and why"),
                    ("Settings", "/settings/", "choose the strategies (owner only)"),
                    ("Checkout", "/checkout/", "place an order"),
                    ("Orders", "/orders/", "orders and their export"),
                    ("Outbox", "/outbox/", "the notifications written"),
                    ("Admin", "/admin/", "the tenant's admin (owner)"),
                ],
            )
        write("")
        write("Groups of every tenant:")
        for name, permissions in DEMO_GROUPS.items():
            write(f"  {name:<11}{', '.join(permissions) or 'no permission'}")
        write("Platform flags:")
        for flag in DEMO_FLAGS:
            write(f"  {flag.name:<13}{flag.describe()}")

    def pages(self, base: str, pages: list[tuple[str, str, str]]) -> None:
        width = max(len(base + path) for _, path, _ in pages) + 2
        for name, path, what in pages:
            self.stdout.write(f"  {name:<11}{base + path:<{width}}{what}".rstrip())
