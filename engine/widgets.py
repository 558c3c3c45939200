"""Widgets that show each strategy's icon, label, description and note beside its input."""

from __future__ import annotations

from typing import Any

from django import forms


class StrategyLabel(str):
    """A choice label (the strategy's label) that also carries its description, icon and note,
    and for a child registry's dependent choice the parent slugs it serves (``parents``)."""

    description: str
    icon: str
    note: str
    parents: str

    def __new__(
        cls, text: str, description: str = "", icon: str = "", note: str = "", parents: str = ""
    ) -> StrategyLabel:
        label = super().__new__(cls, text)
        label.description = description
        label.icon = icon
        label.note = note
        label.parents = parents
        return label

    def __reduce__(self) -> tuple[Any, ...]:
        return (StrategyLabel, (str(self), self.description, self.icon, self.note, self.parents))

    def __deepcopy__(self, memo: dict[int, object]) -> StrategyLabel:
        return self


class StrategyOptionsMixin:
    """Adds the label's description, icon and note to each option, linked by aria-describedby."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: bool,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(  # type: ignore[misc]
            name, value, label, selected, index, subindex, attrs
        )
        option["description"] = getattr(label, "description", "")
        option["icon"] = getattr(label, "icon", "")
        option["note"] = getattr(label, "note", "")
        parents = getattr(label, "parents", "")
        if parents:
            # Read by engine/dependent_choices.js: "*" serves every parent strategy.
            option["attrs"]["data-switchyard-parents"] = parents
        option_id = option["attrs"].get("id")
        if option["description"] and option_id:
            option["attrs"]["aria-describedby"] = f"{option_id}_description"
        return option


OPTION_TEMPLATE = "engine/widgets/strategy_option.html"


class StrategyRadioSelect(StrategyOptionsMixin, forms.RadioSelect):
    """Radio buttons, one per strategy, each with its description below the label."""

    option_template_name = OPTION_TEMPLATE


class StrategyCheckboxSelectMultiple(StrategyOptionsMixin, forms.CheckboxSelectMultiple):
    """Checkboxes, one per strategy, each with its description below the label."""

    option_template_name = OPTION_TEMPLATE


class StrategySetWidget(StrategyCheckboxSelectMultiple):
    """Checkboxes in the set's order, each with a position box; mandatory ones stay checked.

    The submitted set is the checked slugs ordered by their positions (ties and blank or
    malformed positions keep the page's order). A mandatory strategy's checkbox is disabled
    and its value posted by a hidden input, so it cannot be unchecked by mistake; a crafted
    post that drops it is refused by the field.
    """

    option_template_name = "engine/widgets/strategy_set_option.html"
    mandatory: frozenset[str] = frozenset()

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: bool,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        mandatory = value in self.mandatory
        option = super().create_option(
            name, value, label, selected or mandatory, index, subindex, attrs
        )
        option["position"] = index + 1
        option["position_name"] = position_name(name, str(value))
        option["mandatory"] = mandatory
        if mandatory:
            option["attrs"]["disabled"] = True
        return option

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        checked = super().value_from_datadict(data, files, name)
        if not isinstance(checked, list) or not all(isinstance(s, str) for s in checked):
            return checked  # the field refuses it, naming what was wrong
        positions = {slug: _position(data.get(position_name(name, slug))) for slug in checked}
        order = {slug: index for index, slug in enumerate(checked)}
        return sorted(checked, key=lambda slug: (positions.get(slug, POSITION_NONE), order[slug]))


# Positions are small numbers typed by a person; anything else means "where it is on the page".
POSITION_NONE = 1_000_000


def position_name(name: str, slug: str) -> str:
    """Return the name of the position box of ``slug`` in the set field ``name``."""
    return f"{name}-position-{slug}"


def _position(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        return int(value.strip())
    return POSITION_NONE
