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
