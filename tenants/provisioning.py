"""Create tenants fast: validate everything first, then clone the migrated template schema.

``provision_tenant`` checks the schema name, domain, plan and initial selections before it
touches anything, then in ONE transaction renames a spare clone of the template
(``tenants.spares``) or clones the template schema (``tenants.template``),
records the tenant (``auto_create_schema`` off) and its domain, and stores the selections
through ``Registry.select`` (``via="provisioning"``). Any failure rolls the whole transaction
back, the new schema included (PostgreSQL DDL is transactional): nothing is left behind.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, ProgrammingError, transaction
from django.db import connection as default_connection
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists

from conditions import Context
from engine.exceptions import UnknownRegistry
from engine.registry import get_registry
from tenants.models import Domain, Tenant
from tenants.plans import UnknownPlan, validate_plan
from tenants.spares import claim_spare
from tenants.template import UnsupportedTemplate, clone_template, ensure_template, quote

# django-tenants' connection adds schema_name, tenant and set_tenant().
connection: Any = default_connection

logger = logging.getLogger("switchyard.tenants")

PUBLIC_SCHEMA = "public"
# Stricter than PostgreSQL: lowercase so the name needs no quoting anywhere it appears.
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
RESERVED_SCHEMAS = frozenset({"public", "information_schema"})
HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")


def provision_tenant(
    schema_name: str,
    *,
    name: str,
    plan: str,
    domain: str,
    selections: Mapping[str, str] | None = None,
    created_by: Any = None,
) -> Tenant:
    """Create a tenant with its schema, primary domain and initial selections; return it.

    ``selections`` maps registry keys to slugs, each validated like any selection for the new
    tenant. ``created_by`` (a platform user or a name) is recorded on the tenant. Raises
    ``ValidationError`` (a dict: field -> messages) with nothing created when anything is
    wrong.
    """
    domain = domain.strip().lower() if isinstance(domain, str) else domain
    selections = dict(selections or {})
    with schema_context(get_public_schema_name()):
        tenant = Tenant(
            schema_name=schema_name, name=name, plan=plan, created_by=_label(created_by)
        )
        tenant.auto_create_schema = False  # the clone below creates and fills the schema
        check_new_tenant(tenant, domain=domain, selections=selections)
        try:
            with transaction.atomic():
                create_tenant_schema(schema_name)
                tenant.save()
                Domain.objects.create(domain=domain, tenant=tenant, is_primary=True)
                context = Context(tenant=tenant)
                for key, slug in selections.items():
                    get_registry(key).select(slug, context, via="provisioning")
        except (IntegrityError, ProgrammingError) as error:
            # Someone took the schema or domain between our checks and our writes.
            check_new_tenant(tenant, domain=domain, selections={})
            raise ValidationError(f"Could not create tenant {schema_name!r}: {error}") from error
    return tenant


def check_new_tenant(tenant: Tenant, *, domain: str, selections: Mapping[str, str]) -> None:
    """Raise ``ValidationError`` listing everything wrong with a tenant about to be created."""
    errors: dict[str, list[str]] = {}
    schema_name = tenant.schema_name
    if not isinstance(schema_name, str) or not SCHEMA_NAME.match(schema_name):
        errors["schema_name"] = [
            f"Invalid schema name {schema_name!r}: use 1-63 lowercase letters, digits and "
            "underscores, not starting with a digit."
        ]
    elif (
        schema_name in RESERVED_SCHEMAS
        or schema_name.startswith("pg_")
        or schema_name.startswith("_switchyard")
    ):
        errors["schema_name"] = [f"The schema name {schema_name!r} is reserved."]
    elif Tenant.objects.filter(schema_name__iexact=schema_name).exists():
        errors["schema_name"] = [f"A tenant with the schema name {schema_name!r} exists."]
    elif schema_exists(schema_name):
        errors["schema_name"] = [f"The schema {schema_name!r} already exists in the database."]
    if not isinstance(tenant.name, str) or not tenant.name.strip():
        errors["name"] = ["The tenant needs a name."]
    elif len(tenant.name) > Tenant._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = [f"The name {tenant.name!r} is longer than 100 characters."]
    try:
        validate_plan(tenant.plan)
    except UnknownPlan as error:
        errors["plan"] = list(error.messages)
    domain_problem = _domain_problem(domain)
    if domain_problem:
        errors["domain"] = [domain_problem]
    selection_problems = _selection_problems(tenant, selections)
    if selection_problems:
        errors["selections"] = selection_problems
    if errors:
        raise ValidationError(errors)


def create_tenant_schema(schema_name: str) -> None:
    """Create ``schema_name``: rename a spare, else clone the template, else run migrations.

    Call inside a transaction: the template's lock is held until it ends.
    """
    template = ensure_template()
    if claim_spare(schema_name):
        return
    try:
        clone_template(schema_name)
    except UnsupportedTemplate as error:
        logger.warning("%s; creating schema %s by migrations instead", error, schema_name)
        migrate_new_schema(schema_name, template)


def migrate_new_schema(schema_name: str, template: str) -> None:
    """Create ``schema_name`` and run every tenant migration into it (the slow path)."""
    previous = connection.tenant
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {quote(schema_name)}")
    try:
        call_command(
            "migrate_schemas", tenant=True, schema_name=schema_name, interactive=False, verbosity=0
        )
    finally:
        connection.set_tenant(previous)


def ensure_tenant(schema_name: str, *, name: str, plan: str, domain: str) -> Tenant:
    """Return the tenant ``schema_name``, provisioning it with its domain when missing."""
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        return provision_tenant(schema_name, name=name, plan=plan, domain=domain)
    with transaction.atomic():
        Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def ensure_public_tenant(domain: str = "localhost") -> Tenant:
    """Return the public tenant (the platform), creating its row and domain when missing."""
    tenant = Tenant.objects.filter(schema_name=PUBLIC_SCHEMA).first()
    if tenant is None:
        tenant = Tenant(schema_name=PUBLIC_SCHEMA, name="Platform", plan=_largest_plan())
        tenant.save()  # the public schema exists: django-tenants creates nothing
    with transaction.atomic():
        Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant


def _largest_plan() -> str:
    from tenants.plans import plans

    return plans()[-1]


def _label(created_by: Any) -> str:
    if created_by is None:
        return ""
    if isinstance(created_by, str):
        return created_by[:150]
    return str(created_by.get_username())[:150]


def _domain_problem(domain: object) -> str:
    if not isinstance(domain, str) or not domain:
        return "The tenant needs a domain (a host name such as 'acme.example.com')."
    labels = domain.split(".")
    if len(domain) > 253 or not all(HOST_LABEL.match(label) for label in labels):
        return (
            f"Invalid domain {domain!r}: expected a host name of letters, digits, '-' and "
            "dots, without a scheme, port or path."
        )
    if Domain.objects.filter(domain__iexact=domain).exists():
        return f"The domain {domain!r} already routes to another tenant."
    return ""


def _selection_problems(tenant: Tenant, selections: Mapping[str, str]) -> list[str]:
    problems = []
    context = Context(tenant=tenant)  # the tenant to be: plan conditions see its plan
    for key, slug in selections.items():
        try:
            registry = get_registry(key)
        except UnknownRegistry as error:
            problems.append(str(error))
            continue
        try:
            registry.validate_selection(slug, context)
        except ValidationError as error:
            problems.extend(f"{key}: {message}" for message in error.messages)
    return problems
