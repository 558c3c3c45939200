"""Create tenants fast: validate everything first, then clone the migrated template schema.

``provision_tenant`` checks the schema name, name, domain, plan and initial selections (with
``tenants.validators`` for names and domains) before it touches anything, then in ONE
transaction renames a spare clone of the template (``tenants.spares``) or clones the template
schema (``tenants.template``), records the tenant (``auto_create_schema`` off) and its
domain, and stores the selections through ``Registry.select`` (``via="provisioning"``). Any
failure rolls the whole transaction back, the new schema included (PostgreSQL DDL is
transactional): nothing is left behind.
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
from django_tenants.utils import (
    get_public_schema_name,
    get_tenant_domain_model,
    get_tenant_model,
    schema_context,
    schema_exists,
)

from conditions import Context
from conditions.naming import echo
from engine import sets
from engine.conf import settings
from engine.exceptions import UnknownRegistry
from engine.registry import get_registry
from engine.validators import CONTROL_CHARACTERS
from tenants.plans import UnknownPlan, plans, validate_plan
from tenants.spares import claim_spare
from tenants.template import UnsupportedTemplate, clone_template, ensure_template, quote
from tenants.tenant_model import field_names, plan_field, plan_or_none
from tenants.validators import normalize_domain, validate_domain, validate_tenant_name

# django-tenants' connection adds schema_name, tenant and set_tenant().
connection: Any = default_connection

logger = logging.getLogger("switchyard.tenants")

PUBLIC_SCHEMA = "public"
# Stricter than PostgreSQL: lowercase so the name needs no quoting anywhere it appears.
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
RESERVED_SCHEMAS = frozenset({"public", "information_schema"})
CREATED_BY_MAX_LENGTH = 150


class NotGiven:
    """The value of an argument the caller left out (``None`` is a value to validate)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = NotGiven()


def provision_tenant(
    schema_name: str,
    *,
    domain: str,
    name: Any = NOT_GIVEN,
    plan: Any = NOT_GIVEN,
    selections: Mapping[str, Any] | None = None,
    created_by: Any = None,
    **fields: Any,
) -> Any:
    """Create a tenant with its schema, primary domain and initial selections; return it.

    The tenant is an instance of the project's ``TENANT_MODEL``. ``name`` goes to its ``name``
    field and ``plan`` to the field ``SWITCHYARD["TENANT_PLAN"]`` names (each only when the
    model has it); ``fields`` are other fields of the model, validated by the model's own
    field validation. ``selections`` maps registry keys to slugs (for a registry holding a
    set, a list of slugs or slugs joined by commas), each validated like any selection for the
    new tenant. ``created_by`` (a platform user or a name) is recorded when the model has a
    ``created_by`` field. Raises ``ValidationError`` (a dict: field -> messages) with nothing
    created when anything is wrong, whatever the arguments are (text with NUL or other control
    characters, ``None``, numbers, huge values): values in messages are shortened.
    """
    domain = normalize_domain(domain)
    label = _label(created_by)
    if not isinstance(selections, Mapping | None):
        expected = f"Expected a mapping of registry keys to slugs, got {echo(selections)}."
        raise ValidationError({"selections": [expected]})
    selections = dict(selections or {})
    with schema_context(get_public_schema_name()):
        tenant, errors = build_tenant(
            schema_name, name=name, plan=plan, created_by=label, fields=fields
        )
        tenant.auto_create_schema = False  # the clone below creates and fills the schema
        check_new_tenant(tenant, domain=domain, selections=selections, errors=errors)
        try:
            with transaction.atomic():
                create_tenant_schema(schema_name)
                tenant.save()
                get_tenant_domain_model()._default_manager.create(
                    domain=domain, tenant=tenant, is_primary=True
                )
                context = Context(tenant=tenant)
                for key, slug in selections.items():
                    registry = get_registry(key)
                    registry.select(sets.as_submitted(registry, slug), context, via="provisioning")
        except (IntegrityError, ProgrammingError) as error:
            # Someone took the schema or domain between our checks and our writes.
            check_new_tenant(tenant, domain=domain, selections={})
            raise ValidationError(
                f"Could not create tenant {echo(schema_name)}: {error}"
            ) from error
    return tenant


def build_tenant(
    schema_name: Any,
    *,
    name: Any = NOT_GIVEN,
    plan: Any = NOT_GIVEN,
    created_by: Any = "",
    fields: Mapping[str, Any] | None = None,
) -> tuple[Any, dict[str, list[str]]]:
    """Return an unsaved instance of the tenant model and what is wrong with the arguments.

    Arguments the model has no field for are errors under their own name (``plan`` when the
    plan hook is a function or a property: set the fields it reads instead).
    """
    model = get_tenant_model()
    known = field_names(model)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {"schema_name": schema_name}
    for key, value in (fields or {}).items():
        if key in known and key not in ("schema_name", model._meta.pk.name):
            values[key] = value
        else:
            errors[key] = [f"The tenant model {model._meta.label} has no field {key!r} to set."]
    if name is not NOT_GIVEN:
        if "name" in known:
            values["name"] = name
        else:
            errors["name"] = [f"The tenant model {model._meta.label} has no field 'name'."]
    field = plan_field()
    if plan is not NOT_GIVEN:
        if field is not None:
            values[field] = plan
        else:
            errors["plan"] = [
                f'SWITCHYARD["TENANT_PLAN"] ({settings.TENANT_PLAN!r}) is not a field of '
                f"{model._meta.label}: set the fields it reads instead of plan."
            ]
    if "created_by" in known:
        values["created_by"] = created_by
    return model(**values), errors


def check_new_tenant(
    tenant: Any,
    *,
    domain: str,
    selections: Mapping[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> None:
    """Raise ``ValidationError`` listing everything wrong with a tenant about to be created."""
    errors = dict(errors or {})
    schema_name = tenant.schema_name
    if not isinstance(schema_name, str) or not SCHEMA_NAME.match(schema_name):
        errors["schema_name"] = [
            f"Invalid schema name {echo(schema_name)}: use 1-63 lowercase letters, digits and "
            "underscores, not starting with a digit."
        ]
    elif (
        schema_name in RESERVED_SCHEMAS
        or schema_name.startswith("pg_")
        or schema_name.startswith("_switchyard")
    ):
        errors["schema_name"] = [f"The schema name {schema_name!r} is reserved."]
    elif type(tenant)._default_manager.filter(schema_name__iexact=schema_name).exists():
        errors["schema_name"] = [f"A tenant with the schema name {schema_name!r} exists."]
    elif schema_exists(schema_name):
        errors["schema_name"] = [f"The schema {schema_name!r} already exists in the database."]
    _check_fields(errors, tenant)
    _collect(errors, "domain", _validate_new_domain, domain)
    selection_problems = _selection_problems(tenant, selections)
    if selection_problems:
        errors["selections"] = selection_problems
    if errors:
        raise ValidationError(errors)


def _check_fields(errors: dict[str, list[str]], tenant: Any) -> None:
    """Check the tenant's own fields: name, plan, created_by, then the model's validation."""
    known = field_names(type(tenant))
    checked = {"schema_name", *errors}
    if "name" in known:
        _collect(errors, "name", validate_tenant_name, tenant.name)
        checked.add("name")
    field = plan_field()
    if "plan" not in errors:
        plan = getattr(tenant, field) if field is not None else plan_or_none(tenant)
        if field is not None or plan is not None:
            _collect(errors, "plan", _validate_plan, plan)
    if field is not None:
        checked.add(field)
    if "created_by" in known:
        _collect(errors, "created_by", _validate_label, tenant.created_by)
        checked.add("created_by")
    try:
        tenant.clean_fields(exclude=checked)
    except ValidationError as error:
        for key, messages in error.message_dict.items():
            errors.setdefault(key, []).extend(messages)


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


def ensure_tenant(schema_name: str, *, domain: str, **arguments: Any) -> Any:
    """Return the tenant ``schema_name``, provisioning it with its domain when missing.

    ``arguments`` are ``provision_tenant``'s (``name``, ``plan``, other fields, ...).
    """
    tenant = get_tenant_model()._default_manager.filter(schema_name=schema_name).first()
    if tenant is None:
        return provision_tenant(schema_name, domain=domain, **arguments)
    _ensure_domain(tenant, domain)
    return tenant


def ensure_public_tenant(domain: str = "localhost", **fields: Any) -> Any:
    """Return the public tenant (the platform), creating its row and domain when missing.

    A new row gets ``fields``; by default the name "Platform" and the largest plan, where
    the tenant model has those fields.
    """
    model = get_tenant_model()
    tenant = model._default_manager.filter(schema_name=PUBLIC_SCHEMA).first()
    if tenant is None:
        known, field = field_names(model), plan_field()
        defaults = {"name": "Platform"} if "name" in known else {}
        if field is not None:
            defaults[field] = _largest_plan()
        tenant, errors = build_tenant(PUBLIC_SCHEMA, fields={**defaults, **fields})
        if errors:
            raise ValidationError(errors)
        _ensure_domain(None, domain)  # a bad domain is refused before anything is written
        tenant.save()  # the public schema exists: django-tenants creates nothing
    _ensure_domain(tenant, domain)
    return tenant


def _ensure_domain(tenant: Any, domain: str) -> None:
    """Validate ``domain``; give it to ``tenant`` when no tenant has it (None: only validate)."""
    domain = normalize_domain(domain)
    validate_domain(domain)
    if tenant is None:
        return
    with transaction.atomic():
        get_tenant_domain_model()._default_manager.get_or_create(
            domain=domain, defaults={"tenant": tenant, "is_primary": True}
        )


def _largest_plan() -> str:
    return plans()[-1]


def _label(created_by: Any) -> Any:
    if created_by is None:
        return ""
    if isinstance(created_by, str):
        return created_by[:CREATED_BY_MAX_LENGTH]
    username = getattr(created_by, "get_username", None)
    if username is None:
        return created_by  # not a user: _validate_label names what it is
    return str(username())[:CREATED_BY_MAX_LENGTH]


def _collect(errors: dict[str, list[str]], field: str, validate: Any, value: Any) -> None:
    """Run ``validate(value)``; put its messages under ``field`` in ``errors``."""
    try:
        validate(value)
    except ValidationError as error:
        errors[field] = list(error.messages)


def _validate_plan(plan: Any) -> None:
    if not isinstance(plan, str):
        raise ValidationError(
            f"The plan is one of {', '.join(repr(name) for name in plans())} (a string), "
            f"got {echo(plan)}.",
            code="unknown_plan",
        )
    try:
        validate_plan(plan)
    except UnknownPlan as error:
        raise ValidationError(list(error.messages), code="unknown_plan") from None


def _validate_new_domain(domain: Any) -> None:
    validate_domain(domain)
    if get_tenant_domain_model()._default_manager.filter(domain__iexact=domain).exists():
        raise ValidationError(
            f"The domain {echo(domain)} already routes to another tenant.", code="domain_taken"
        )


def _validate_label(label: Any) -> None:
    if not isinstance(label, str):
        raise ValidationError(
            f"created_by is a user or a name, got {echo(label)}.", code="invalid_created_by"
        )
    if CONTROL_CHARACTERS.search(label):
        raise ValidationError(
            f"created_by {echo(label)} contains control characters.", code="invalid_created_by"
        )


def _selection_problems(tenant: Any, selections: Mapping[str, Any]) -> list[str]:
    problems = []
    context = Context(tenant=tenant)  # the tenant to be: plan conditions see its plan
    for key, slug in selections.items():
        if not isinstance(key, str):
            problems.append(f"Registry keys are strings, got {echo(key)}.")
            continue
        try:
            registry = get_registry(key)
        except UnknownRegistry as error:
            problems.append(str(error))
            continue
        try:
            if registry.multiple:  # a set: a list of slugs, or slugs joined by commas
                registry.validate_set(sets.as_submitted(registry, slug), context)
            else:
                registry.validate_selection(slug, context)
        except ValidationError as error:
            problems.extend(f"{key}: {message}" for message in error.messages)
    return problems
