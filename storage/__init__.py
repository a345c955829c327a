"""The only place that talks SQL: SQLModel tables, repository functions, Alembic migrations.

* ``storage.db`` — ``make_engine(url)``, ``upgrade(engine_or_url)``, ``unit_of_work(engine)``.
* ``storage.models`` — the tables (see its docstring for the conventions).
* ``storage.repo`` — repository functions; every one takes a keyword-only ``session``
  and never commits (the unit of work does).
* ``storage.migrations`` — Alembic, configured in code; later features add one revision each.

Importing this package is cheap and has no side effects.
"""
