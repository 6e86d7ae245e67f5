"""Command families, one module each; every module's ``COMMANDS`` list is its part of the table
(see ``base.py`` for the row shape and ``engine.FAMILIES`` for the order)."""
