"""Flag models for the conditions tests (a shared app: its tables live in the public schema)."""
