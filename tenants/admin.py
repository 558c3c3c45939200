"""Platform admin: tenants, platform flags, waffle switches and samples, on the public site only.

Tenant sites share ``admin.site`` and can read public tables through ``search_path``, so each
of these admins refuses every permission unless the request is on the public schema: a tenant's
owner (a superuser of their own schema) must not toggle platform-wide flags.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django_tenants.utils import get_public_schema_name, get_tenant_domain_model, get_tenant_model
from waffle.admin import SampleAdmin, SwitchAdmin, disable_for_all, enable_for_all
from waffle.models import Sample, Switch

from engine.admin import refuse_control_characters
from tenants.flags import NO_USER_TARGETING, PlatformFlag
from tenants.middleware import on_public_site
from tenants.models import Tenant
from tenants.plans import plans
from tenants.provisioning import check_new_tenant, provision_tenant
from tenants.validators import normalize_domain, validate_domain, validate_tenant_name


class PublicSchemaOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Grants nothing outside the public site, whatever the user's permissions there."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return on_public_site(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return on_public_site(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return on_public_site(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return on_public_site(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return on_public_site(request) and super().has_delete_permission(request, obj)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        refuse_control_characters(request.GET)  # ?q=%00 would be a DataError: a 500
        return super().changelist_view(request, extra_context)


def _plan_choices() -> list[tuple[str, str]]:
    return [(plan, plan) for plan in plans()]


def _tenant_choices() -> list[tuple[str, str]]:
    rows = get_tenant_model()._default_manager.exclude(schema_name=get_public_schema_name())
    return [(tenant.schema_name, str(tenant)) for tenant in rows.order_by("schema_name")]


class TenantForm(forms.ModelForm):  # type: ignore[type-arg]
    """A tenant; on creation also its domain, checked like ``provision_tenant`` checks it.

    The name is checked by ``tenants.validators`` on every save, the domain of a new tenant
    too (the same validators as provisioning and the domain inline)."""

    plan = forms.ChoiceField(choices=_plan_choices)
    domain = forms.CharField(
        required=False, help_text="Primary host name of a new tenant, e.g. acme.example.com."
    )

    class Meta:
        model = Tenant
        fields = ["schema_name", "name", "plan"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        validate_tenant_name(name)
        return str(name)

    def clean_domain(self) -> str:
        domain = normalize_domain(self.cleaned_data["domain"])  # as provision_tenant stores it
        if self.instance.pk is None:
            validate_domain(domain)
        return str(domain)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not self.errors:
            # The instance is filled in after clean(): check a tenant built from the data.
            fields = {name: data.get(name) for name in ("schema_name", "name", "plan")}
            try:
                check_new_tenant(Tenant(**fields), domain=data.get("domain", ""), selections={})
            except forms.ValidationError as error:
                self.add_error(None, error)
        return data


class DomainForm(forms.ModelForm):  # type: ignore[type-arg]
    """A tenant's domain, normalised and checked like ``provision_tenant`` checks it."""

    class Meta:
        model = get_tenant_domain_model()
        fields = ["domain", "is_primary"]

    def clean_domain(self) -> str:
        domain = normalize_domain(self.cleaned_data["domain"])
        validate_domain(domain)
        return str(domain)


class DomainInline(admin.TabularInline):  # type: ignore[type-arg]
    model = get_tenant_domain_model()
    form = DomainForm
    extra = 0


class TenantAdmin(PublicSchemaOnly):
    """The ready-made ``Tenant``'s admin; a project with its own tenant model keeps its own."""

    form = TenantForm
    list_display = ["schema_name", "name", "plan", "primary_domain", "created", "created_by"]
    list_filter = ["plan"]
    search_fields = ["schema_name", "name", "domains__domain"]
    inlines = [DomainInline]

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return list(self.inlines) if obj is not None else []  # a new tenant's domain: the form

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["schema_name", "name", "plan", "domain"]
        return ["schema_name", "name", "plan", "created_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A schema is not renamed from a form: data, caches and flags refer to its name.
        return ["schema_name", "created_by"] if obj is not None else []

    @admin.display(description="domain")
    def primary_domain(self, tenant: Tenant) -> str:
        return ", ".join(domain.domain for domain in tenant.domains.all())

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("domains")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        tenant = provision_tenant(
            obj.schema_name,
            name=obj.name,
            plan=obj.plan,
            domain=form.cleaned_data["domain"],
            created_by=request.user,
        )
        obj.pk, obj.created, obj.created_by = tenant.pk, tenant.created, tenant.created_by
        obj._state.adding, obj._state.db = False, tenant._state.db


# Registered only while the ready-made model is TENANT_MODEL (a swapped model has no table).
if not Tenant._meta.swapped:
    admin.site.register(Tenant, TenantAdmin)


class PlatformFlagForm(forms.ModelForm):  # type: ignore[type-arg]
    """A platform flag, with tenants and plans picked from lists."""

    tenants = forms.TypedMultipleChoiceField(
        choices=_tenant_choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    plans = forms.TypedMultipleChoiceField(
        choices=_plan_choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = PlatformFlag
        fields = [
            "name",
            "everyone",
            "note",
            "tenants",
            "plans",
            "tenant_percent",
            "staff",
            "superusers",
            "authenticated",
            "percent",
            "rollout",
            "testing",
            "languages",
        ]


@admin.register(PlatformFlag)
class PlatformFlagAdmin(PublicSchemaOnly):
    form = PlatformFlagForm
    actions = [enable_for_all, disable_for_all]
    list_display = [
        "name",
        "everyone",
        "tenant_list",
        "plan_list",
        "tenant_percent",
        "staff",
        "superusers",
        "authenticated",
        "note",
    ]
    list_filter = ["everyone", "staff", "superusers", "authenticated"]
    search_fields = ["name", "note"]
    ordering = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "everyone", "note"]}),
        (
            "Tenants",
            {
                "fields": ["tenants", "plans", "tenant_percent"],
                "description": "On for a tenant listed, on a plan listed, or in the percentage.",
            },
        ),
        (
            "Users of every tenant",
            {
                "fields": ["staff", "superusers", "authenticated"],
                "description": NO_USER_TARGETING,
            },
        ),
        (
            "Per request (waffle)",
            {
                "fields": ["percent", "rollout", "testing", "languages"],
                "classes": ["collapse"],
            },
        ),
    ]

    @admin.display(description="tenants")
    def tenant_list(self, flag: PlatformFlag) -> str:
        return ", ".join(flag.tenants)

    @admin.display(description="plans")
    def plan_list(self, flag: PlatformFlag) -> str:
        return ", ".join(flag.plans)


class PlatformSwitchAdmin(PublicSchemaOnly, SwitchAdmin):
    """waffle's switch admin, on the public site only."""


class PlatformSampleAdmin(PublicSchemaOnly, SampleAdmin):
    """waffle's sample admin, on the public site only."""


# Each waffle model: waffle's own admin class, and the public-only one that replaces it.
WAFFLE_ADMINS: dict[type[Any], tuple[type[Any], type[Any]]] = {
    Switch: (SwitchAdmin, PlatformSwitchAdmin),
    Sample: (SampleAdmin, PlatformSampleAdmin),
}


def register_waffle_admins(site: admin.AdminSite) -> None:
    """Register waffle's switches and samples on ``site`` with their public-only admins.

    waffle registers its own admins when ``waffle.admin`` is imported (as above) unless
    ``WAFFLE_ENABLE_ADMIN_PAGES = False``; registering again would raise ``AlreadyRegistered``.
    waffle's stock admin is replaced: it would let a tenant's owner toggle platform-wide
    switches from the tenant's site. An admin the project registered itself is left alone.
    """
    for model, (stock, public_only) in WAFFLE_ADMINS.items():
        if site.is_registered(model):
            if type(site.get_model_admin(model)) is not stock:
                continue
            site.unregister(model)
        site.register(model, public_only)


register_waffle_admins(admin.site)
