"""A small shop app for the plain-Django tests: its ``strategies`` module is discovered."""
