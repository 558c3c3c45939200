"""Where selections are stored: the request's one read, validated writes, history, invalidation.

``reads`` (the one cache round trip, the database on a miss), ``writes`` (validated, atomic,
schema-pinned), ``history`` (who changed what, through which path), ``cache`` (keys and
invalidation) and ``generations`` (how a change the cache missed is noticed anyway).

Import the modules themselves (``from engine.storage import reads``): ``engine.models`` builds
on ``history``, so this package must not import the modules that build on the models.
"""
