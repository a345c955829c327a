"""The only place that talks SQL: SQLModel tables, repository functions, Alembic migrations.

* ``storage.db`` — ``make_engine(url)``, ``upgrade(engine_or_url)``, ``unit_of_work(engine)``.
* ``storage.models`` — every table, a package: the basic tables (``from storage.models import
  Member``), each feature's in ``storage.models.<feature>``, the column helpers in the leaf
  ``storage.models.columns`` (see its docstring for the conventions).
* ``storage.repo`` — repository functions of the basic tables, a package by topic (teams,
  members, periods, imports, values, reviews, scores, the audit log …) used as
  ``repo.<function>``; every one takes a keyword-only ``session`` and never commits (the
  unit of work does).
* One module of repository functions per feature beside it: ``storage.conversations``,
  ``storage.consequences``, ``storage.outbox``, ``storage.inbox``, ``storage.qa``,
  ``storage.survey``, ``storage.linking``, ``storage.chat_files``.
* ``storage.migrations`` — Alembic, configured in code; later features add one revision each.

Imports point one way: feature modules → ``storage.repo`` → ``storage.models`` →
``storage.models.columns`` and ``storage.types``; never back, and never to ``commands`` or
``bot``. Importing this package is cheap and has no side effects.
"""
