"""engine.fields: slugs in the database, strategy classes on the model, no migration churn."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from django.core import serializers
from django.core.checks import Error
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, models
from django.forms.models import model_to_dict
from django.test.utils import isolate_apps
from django_tenants.utils import tenant_context

from conditions import Context
from engine import Strategy, UnknownStrategy
from engine.fields import MissingStrategy, MultipleStrategyField, StrategyField, slug_of
from engine.testing import isolated_registries
from tenants.models import Tenant
from tests.engine.surfaces_app.models import Parcel
from tests.engine.surfaces_app.strategies import (
    Couriers,
    Dark,
    Drone,
    Email,
    Express,
    Freight,
    Pager,
    Post,
    Sms,
)


@pytest.fixture
def globex(pro_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(pro_tenant):
        yield pro_tenant


def stored(parcel: Parcel, column: str) -> object:
    """What the database row holds, read around the model's fields."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM surfaces_app_parcel WHERE id = %s", [parcel.pk])
        return cursor.fetchone()[0]


# Migrations --------------------------------------------------------------------------------


def test_deconstruct_names_the_registry_key_and_nothing_about_its_strategies() -> None:
    courier = Parcel._meta.get_field("courier")
    _name, path, args, kwargs = courier.deconstruct()
    assert (path, args) == ("engine.fields.StrategyField", [])
    assert kwargs == {"registry": "surface_couriers", "default": "post"}
    backup = Parcel._meta.get_field("backup")  # given as the Registry class
    assert backup.deconstruct()[3] == {"registry": "surface_couriers", "blank": True, "default": ""}
    alerts = Parcel._meta.get_field("alerts")
    _name, path, args, kwargs = alerts.deconstruct()
    assert path == "engine.fields.MultipleStrategyField"
    assert kwargs == {"registry": "surface_alerts", "blank": True, "default": list}


@pytest.mark.django_db
def test_adding_or_removing_strategies_creates_no_migration() -> None:
    def check() -> None:  # exits with status 1 when a migration is missing
        call_command(
            "makemigrations", "surfaces_app", check=True, dry_run=True, stdout=io.StringIO()
        )

    check()
    with isolated_registries():

        class Teleport(Strategy):
            registry = Couriers
            slug = "teleport"

        check()
    with isolated_registries():
        Couriers._members = type(Couriers._members)()  # every strategy removed
        check()
        assert len(Couriers) == 0
    assert len(Couriers) == 4


def test_a_strategy_class_given_as_default_is_stored_as_its_slug() -> None:
    field = StrategyField(Couriers, default=Express)
    assert field.deconstruct()[3]["default"] == "express"
    assert field.get_default() == "express"


def test_bad_arguments_are_type_errors_naming_what_was_expected() -> None:
    with pytest.raises(TypeError, match="registry must be a Registry subclass"):
        StrategyField(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes no choices"):
        StrategyField("surface_couriers", choices=[("post", "Post")])
    with pytest.raises(TypeError, match="takes no size"):
        MultipleStrategyField("surface_alerts", size=3)


@isolate_apps("tests.engine.surfaces_app")
def test_an_unknown_registry_key_is_a_system_check_error_with_a_suggestion() -> None:
    class Crate(models.Model):
        courier = StrategyField("surface_courier")
        alerts = MultipleStrategyField("surface_alerts")

        class Meta:
            app_label = "surfaces_app"

        def __str__(self) -> str:
            return "crate"

    errors = [error for error in Crate.check() if error.id.startswith("switchyard.")]
    assert len(errors) == 1
    (error,) = errors
    assert isinstance(error, Error) and error.id == "switchyard.E020"
    assert "surfaces_app.Crate.courier" in error.msg
    assert "Did you mean 'surface_couriers'?" in error.msg
    assert error.obj is Crate._meta.get_field("courier")


def test_the_key_is_resolved_when_used_so_a_later_registry_works() -> None:
    field = StrategyField("surface_later")
    with isolated_registries():
        from engine import Registry

        class Later(Registry):
            key = "surface_later"

        assert field.registry is Later
    assert field.registry_key == "surface_later"


# Reading and writing -----------------------------------------------------------------------


def test_the_attribute_is_the_strategy_class_and_the_column_the_slug(globex: Tenant) -> None:
    parcel = Parcel.objects.create(name="box", courier=Express, alerts=[Email, "sms"])
    assert parcel.courier is Express
    assert parcel.alerts == (Email, Sms)
    assert parcel.backup is None  # blank: no strategy, not a missing one
    assert stored(parcel, "courier") == "express"
    assert stored(parcel, "alerts") == ["email", "sms"]
    fresh = Parcel.objects.get(pk=parcel.pk)
    assert (fresh.courier, fresh.alerts, fresh.backup) == (Express, (Email, Sms), None)


def test_slugs_instances_and_classes_can_be_assigned() -> None:
    parcel = Parcel(name="box")
    assert parcel.courier is Post  # the default, a slug
    parcel.courier = "freight"
    assert parcel.courier is Freight
    parcel.courier = Drone(Context())
    assert parcel.courier is Drone
    parcel.alerts = (slug for slug in ["pager", Email])
    assert parcel.alerts == (Pager, Email)


def test_a_strategy_of_another_registry_is_refused_on_assignment() -> None:
    parcel = Parcel(name="box")
    with pytest.raises(
        ValueError,
        match=r"Email \('email'\) is a strategy of registry 'surface_alerts', not of 'surface_co",
    ):
        parcel.courier = Email
    with pytest.raises(ValueError, match="not of 'surface_alerts'"):
        parcel.alerts = [Email, Dark]
    with pytest.raises(TypeError, match="expects a list of strategies or slugs, got 'email'"):
        parcel.alerts = "email"
    with pytest.raises(TypeError, match="Expected a strategy of 'surface_couriers'"):
        parcel.courier = 3.5
    assert parcel.courier is Post and parcel.alerts == ()


def test_lookups_accept_slugs_and_classes(globex: Tenant) -> None:
    box = Parcel.objects.create(name="box", courier="express", alerts=["email", "sms"])
    crate = Parcel.objects.create(name="crate", courier=Post, alerts=[Sms])
    Parcel.objects.create(name="bag", courier=Freight)

    def names(**lookup: object) -> list[str]:
        return sorted(Parcel.objects.filter(**lookup).values_list("name", flat=True))

    assert names(courier=Express) == names(courier="express") == ["box"]
    assert names(courier__in=[Express, "post"]) == ["box", "crate"]
    assert sorted(Parcel.objects.exclude(courier=Freight).values_list("name", flat=True)) == [
        "box",
        "crate",
    ]
    assert names(alerts=[Email, "sms"]) == ["box"]
    assert names(alerts__contains=[Sms]) == ["box", "crate"]
    assert names(alerts__overlap=[Email, Pager]) == ["box"]
    assert names(alerts__len=0) == ["bag"]
    assert Parcel.objects.filter(pk=crate.pk).update(courier=Drone) == 1
    assert names(courier=Drone) == ["crate"]
    assert box.courier is Express
    with pytest.raises(ValueError, match="not of 'surface_couriers'"):
        names(courier=Email)


def test_the_multiple_field_has_no_practical_length_limit(globex: Tenant) -> None:
    parcel = Parcel.objects.create(name="box")
    many = [f"{'x' * 90}{number:05d}" for number in range(3000)]
    Parcel.objects.filter(pk=parcel.pk).update(alerts=many)
    parcel.refresh_from_db()
    assert len(parcel.alerts) == 3000
    assert parcel.alerts[-1] == MissingStrategy("surface_alerts", many[-1])


def test_building_instances_for_a_context(globex: Tenant) -> None:
    parcel = Parcel.objects.create(name="box", courier=Express, alerts=[Sms, Email])
    context = Context(tenant=globex)
    courier = parcel.get_courier_strategy(context)
    assert isinstance(courier, Express) and courier.context is context
    assert courier.ship(3) == "express:3"
    assert [type(alert) for alert in parcel.get_alerts_strategies(context)] == [Sms, Email]
    assert parcel.get_backup_strategy(context) is None


def test_serialisation_and_forms_see_slugs(globex: Tenant) -> None:
    parcel = Parcel.objects.create(name="box", courier=Express, alerts=[Sms])
    assert model_to_dict(parcel)["courier"] == "express"
    assert model_to_dict(parcel)["alerts"] == ["sms"]
    data = serializers.serialize("json", [parcel])
    assert '"courier": "express"' in data and '"alerts": "[\\"sms\\"]"' in data
    (loaded,) = serializers.deserialize("json", data)
    assert loaded.object.courier is Express and loaded.object.alerts == (Sms,)


def test_admin_display_uses_labels() -> None:
    courier = Parcel._meta.get_field("courier")
    assert (Post, "Postal service") in courier.flatchoices
    assert dict(courier.flatchoices)[Drone] == "Drone <beta>"


def test_slug_of_names_what_it_got() -> None:
    assert slug_of(Express) == slug_of(Express(None)) == slug_of("express") == "express"
    assert slug_of(MissingStrategy("surface_couriers", "gone")) == "gone"
    assert slug_of(None) is None
    with pytest.raises(TypeError, match="Expected a strategy, its slug or None; got 7"):
        slug_of(7)
    with pytest.raises(ValueError, match="belongs to registry 'surface_alerts'"):
        slug_of(MissingStrategy("surface_alerts", "gone"), Couriers)


# Slugs that are no longer registered ------------------------------------------------------


@pytest.fixture
def orphan(globex: Tenant) -> Parcel:
    """A parcel whose stored courier and one alert were unregistered since."""
    parcel = Parcel.objects.create(name="box", courier=Express, alerts=[Email])
    Parcel.objects.filter(pk=parcel.pk).update(courier="teleport", alerts=["email", "pigeon"])
    return Parcel.objects.get(pk=parcel.pk)


def test_a_missing_slug_reads_as_a_marked_falsy_value(
    orphan: Parcel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="switchyard.engine")
    from engine import fields

    fields._logged.clear()
    missing = orphan.courier
    assert isinstance(missing, MissingStrategy) and missing is not None and not missing
    assert (missing.registry_key, missing.slug) == ("surface_couriers", "teleport")
    assert missing == MissingStrategy("surface_couriers", "teleport")
    assert repr(missing) == "<MissingStrategy 'teleport' of 'surface_couriers'>"
    assert missing.label == "teleport (not registered)"
    assert orphan.alerts == (Email, MissingStrategy("surface_alerts", "pigeon"))
    Parcel.objects.get(pk=orphan.pk).courier  # noqa: B018 - read again, in another instance
    logged = [record.getMessage() for record in caplog.records]
    assert len([line for line in logged if "'teleport'" in line]) == 1
    assert "surfaces_app.Parcel.courier holds 'teleport'" in logged[0]
    with pytest.raises(UnknownStrategy, match="Unknown strategy 'teleport' in 'surface_couriers'"):
        orphan.get_courier_strategy(Context())
    with pytest.raises(UnknownStrategy, match="'pigeon'"):
        orphan.get_alerts_strategies(Context())


def test_an_unrelated_save_writes_the_missing_slug_back(orphan: Parcel) -> None:
    orphan.name = "renamed"
    orphan.full_clean()  # kept as stored: valid
    orphan.save()
    assert stored(orphan, "courier") == "teleport"
    assert stored(orphan, "alerts") == ["email", "pigeon"]
    assert stored(orphan, "name") == "renamed"


def test_a_new_unknown_slug_is_a_validation_error_with_a_suggestion(orphan: Parcel) -> None:
    orphan.courier = "expres"
    with pytest.raises(ValidationError) as raised:
        orphan.full_clean()
    (error,) = raised.value.error_dict["courier"]
    assert error.code == "unknown_strategy"
    assert error.messages == [
        "Unknown strategy 'expres' in 'surface_couriers'. Did you mean 'express'? "
        "Choose one of: post, express, drone, freight."
    ]
    orphan.courier = Express
    orphan.alerts = ["email", "pigeon", "owl"]
    with pytest.raises(ValidationError, match="Unknown strategy 'owl' in 'surface_alerts'"):
        orphan.full_clean()
    new = Parcel(name="new", courier="teleport")  # never stored: no slug to keep
    with pytest.raises(ValidationError, match="Unknown strategy 'teleport'"):
        new.full_clean()


def test_duplicates_are_refused(globex: Tenant) -> None:
    parcel = Parcel(name="box", alerts=[Email, "email"])
    with pytest.raises(ValidationError, match="Strategy 'email' is listed twice"):
        parcel.full_clean()


def test_no_strategy_reads_as_none_and_stays_blank(globex: Tenant) -> None:
    parcel = Parcel.objects.create(name="box")
    parcel.refresh_from_db()  # copies values through the attribute: None must stay ""
    assert parcel.backup is None
    parcel.save()
    assert stored(parcel, "backup") == ""
    parcel.backup = None
    parcel.courier = None
    assert parcel.backup is None and parcel.courier is None
    with pytest.raises(ValidationError) as raised:
        parcel.full_clean()
    assert set(raised.value.error_dict) == {"courier"}  # required; backup may be blank


def test_a_huge_slug_is_echoed_shortened(globex: Tenant, caplog: pytest.LogCaptureFixture) -> None:
    huge = "x" * 10000
    parcel = Parcel(name="box", courier=huge, alerts=["email", huge, huge])
    with pytest.raises(ValidationError) as raised:
        parcel.full_clean()
    messages = [m for ms in raised.value.message_dict.values() for m in ms]
    assert f"Unknown strategy {'x' * 40 + '…'!r} (10000 characters) in 'surface_couriers'." in (
        " ".join(messages)
    )
    assert f"Strategy {'x' * 40 + '…'!r} (10000 characters) is listed twice." in messages
    assert all(len(message) < 300 for message in messages)
    with pytest.raises(TypeError) as wrong:
        Parcel(alerts=huge)
    assert len(str(wrong.value)) < 300
    with caplog.at_level(logging.WARNING, logger="switchyard.engine"):
        Parcel._meta.get_field("courier").strategy_for(huge + "y")  # type: ignore[attr-defined]
    assert all(len(record.getMessage()) < 300 for record in caplog.records)
    assert "(10001 characters)" in caplog.text
