"""pytest fixtures for projects using Switchyard (loaded through the ``pytest11`` entry point).

``switchyard_override`` forces strategies or conditions until the end of the test::

    def test_checkout(client, switchyard_override):
        switchyard_override.strategy("payments", "invoice")
        switchyard_override.condition("payments.crypto", False)

``switchyard_isolated_registries`` forgets registries and strategies a test defines.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from engine.testing import Overrides


@pytest.fixture
def switchyard_override() -> Iterator[Overrides]:
    """Return an ``Overrides``: ``.strategy(key, slug)``, ``.condition(target, cond)``."""
    # Imported here: pytest loads this plugin before Django is configured.
    from engine.testing import Overrides

    overrides = Overrides()
    try:
        yield overrides
    finally:
        overrides.undo()


@pytest.fixture
def switchyard_isolated_registries() -> Iterator[None]:
    """Registries and strategies defined during the test are forgotten afterwards."""
    from engine.testing import isolated_registries

    with isolated_registries():
        yield
