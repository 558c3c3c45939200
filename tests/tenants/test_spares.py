"""Spare schemas: ready-made clones that provisioning renames instead of cloning."""

from __future__ import annotations

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client, override_settings
from django_tenants.utils import schema_exists

from engine import Registry, Strategy
from engine.testing import isolated_registries
from tenants import spares
from tenants.provisioning import provision_tenant
from tenants.template import migrations_fingerprint
from tests.tenants.test_provisioning import OnlyBeforeSaving


def test_replenish_keeps_the_configured_number_of_stamped_spares(db: None) -> None:
    created = spares.replenish_spares(2)
    assert len(created) == 2 and all(name.startswith("_switchyard_spare_") for name in created)
    assert sorted(spares.ready_spares()) == sorted(created)
    assert spares.replenish_spares(2) == []  # already there
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "SPARE_SCHEMAS": 3}):
        assert len(spares.replenish_spares()) == 1


def test_provisioning_renames_a_spare_into_the_tenants_schema(db: None) -> None:
    (spare,) = spares.replenish_spares(1)
    tenant = provision_tenant("hooli", name="Hooli", plan="pro", domain="hooli.localhost")
    assert not schema_exists(spare)
    assert schema_exists("hooli")
    assert spares.ready_spares() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT obj_description('hooli'::regnamespace, 'pg_namespace')")
        assert cursor.fetchone() == (None,)  # no longer stamped as a spare
    assert Client(HTTP_HOST="hooli.localhost").get("/").status_code == 200
    assert tenant.schema_name == "hooli"


def test_without_a_spare_provisioning_clones(db: None) -> None:
    assert spares.ready_spares() == []
    provision_tenant("hooli", name="Hooli", plan="pro", domain="hooli.localhost")
    assert schema_exists("hooli")


def test_spares_of_an_older_template_are_never_claimed_and_get_dropped(db: None) -> None:
    (spare,) = spares.replenish_spares(1)
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA {spare} IS 'switchyard spare outdated'")
    assert spares.ready_spares() == []
    assert not spares.claim_spare("hooli")
    (fresh,) = spares.replenish_spares(1)
    assert not schema_exists(spare)
    assert spares.ready_spares(migrations_fingerprint()) == [fresh]


def test_a_spare_another_transaction_is_claiming_is_skipped(db: None) -> None:
    (spare,) = spares.replenish_spares(1)
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
    }
    params.update({key.lower(): settings[key] for key in ("HOST", "PORT") if settings[key]})
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", [spares.LOCK_SPACE, spare])
        assert not spares.claim_spare("hooli")
    assert schema_exists(spare)


def test_a_failed_provisioning_puts_the_spare_back(db: None) -> None:
    (spare,) = spares.replenish_spares(1)
    with isolated_registries():

        class Fragile(Registry):
            key = "fragile_spares"

        class Brittle(Strategy):
            registry = Fragile
            slug = "brittle"
            condition = OnlyBeforeSaving()

        with pytest.raises(ValidationError):
            provision_tenant(
                "hooli",
                name="Hooli",
                plan="pro",
                domain="hooli.localhost",
                selections={"fragile_spares": "brittle"},
            )
    assert spares.ready_spares() == [spare]
    assert not schema_exists("hooli")


def test_spare_names_cannot_be_provisioned(db: None) -> None:
    with pytest.raises(ValidationError, match="is reserved"):
        provision_tenant("_switchyard_spare_abc", name="X", plan="pro", domain="x.localhost")
