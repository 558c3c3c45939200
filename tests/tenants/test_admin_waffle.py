"""tenants.admin and waffle's own admin pages: no ``AlreadyRegistered``, nothing public on tenants.

``tenants/admin.py`` imports ``waffle.admin``, which registers waffle's admins on
``admin.site`` unless ``WAFFLE_ENABLE_ADMIN_PAGES = False`` (the example site turns them off; a
new project has them on). These tests build their own admin sites, and start a project with
waffle's pages on in a subprocess, since ``waffle.admin`` registers only once per process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.contrib import admin
from waffle.admin import SampleAdmin, SwitchAdmin
from waffle.models import Sample, Switch

from tenants.admin import PlatformSampleAdmin, PlatformSwitchAdmin, register_waffle_admins

ROOT = Path(__file__).resolve().parents[2]


class ProjectSwitchAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A project's own switch admin."""


def admin_classes(site: admin.AdminSite) -> dict[str, str]:
    return {
        model.__name__: type(site.get_model_admin(model)).__name__
        for model in (Switch, Sample)
        if site.is_registered(model)
    }


def test_waffle_s_stock_admins_are_replaced_by_the_public_only_ones() -> None:
    site = admin.AdminSite(name="waffle_pages_on")
    site.register(Switch, SwitchAdmin)  # what waffle.admin does with its pages on
    site.register(Sample, SampleAdmin)
    register_waffle_admins(site)
    assert admin_classes(site) == {
        "Switch": "PlatformSwitchAdmin",
        "Sample": "PlatformSampleAdmin",
    }


def test_without_waffle_s_pages_the_public_only_admins_are_registered() -> None:
    site = admin.AdminSite(name="waffle_pages_off")
    register_waffle_admins(site)
    assert admin_classes(site) == {
        "Switch": "PlatformSwitchAdmin",
        "Sample": "PlatformSampleAdmin",
    }


def test_an_admin_the_project_registered_itself_is_left_alone() -> None:
    site = admin.AdminSite(name="project_admin")
    site.register(Switch, ProjectSwitchAdmin)
    register_waffle_admins(site)
    assert admin_classes(site) == {
        "Switch": "ProjectSwitchAdmin",
        "Sample": "PlatformSampleAdmin",
    }


def test_the_sites_admin_has_the_public_only_ones() -> None:
    assert isinstance(admin.site.get_model_admin(Switch), PlatformSwitchAdmin)
    assert isinstance(admin.site.get_model_admin(Sample), PlatformSampleAdmin)


def test_a_project_with_waffle_s_admin_pages_on_starts() -> None:
    # The reported crash: AlreadyRegistered: The model Switch is already registered with
    # 'waffle.SwitchAdmin', at start-up of any project with django.contrib.admin.
    script = (
        "import django\n"
        "from django.conf import settings\n"
        "django.setup()\n"
        "assert settings.WAFFLE_ENABLE_ADMIN_PAGES\n"
        "from django.contrib import admin\n"
        "from waffle.models import Sample, Switch\n"
        "admin.autodiscover()\n"
        "print(type(admin.site.get_model_admin(Switch)).__name__,"
        " type(admin.site.get_model_admin(Sample)).__name__)\n"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.tenants.settings_waffle_admin"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["PlatformSwitchAdmin", "PlatformSampleAdmin"]
