"""The platform's control of strategies: status (active, reserve, disabled), priority, sync.

``state`` holds the pure values resolution is handed; ``models`` the public schema's rows and
their history; ``load`` reads them with the flag snapshot; ``changes`` and ``sync`` write them.
"""
