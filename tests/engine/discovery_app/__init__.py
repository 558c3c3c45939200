"""An installed app whose strategies modules discovery must find (tests/engine/test_discovery)."""
