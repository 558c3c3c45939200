"""A tenant app with models using StrategyField (tests of engine.fields, forms and admin)."""
