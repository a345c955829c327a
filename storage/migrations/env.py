"""Alembic environment: configured in code (see ``storage.db.alembic_config``).

A connection handed in through ``config.attributes["connection"]`` is used as is (that
is how ``storage.db.upgrade`` and the tests run it). Otherwise the URL comes from the
``sqlalchemy.url`` option or the ``DATABASE_URL`` environment variable (the developer's
``alembic`` command with the root ``alembic.ini``; ``storage`` never imports ``bot``, so the
``.env`` file is not read here — ``kpibot db upgrade`` reads it through the settings).
"""

from __future__ import annotations

import os

from alembic import context

from storage.migrations.env_support import comparison_options

config = context.config
DEFAULT_URL = "sqlite:///kpibot.db"  # the same default as bot.settings.Settings.database_url


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return os.environ.get("DATABASE_URL") or DEFAULT_URL


def run_offline() -> None:
    from storage.db import normalize_url

    context.configure(url=normalize_url(_url()), literal_binds=True, **comparison_options())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **comparison_options())
        with context.begin_transaction():
            context.run_migrations()
        return

    from storage.db import make_engine

    engine = config.attributes.get("engine") or make_engine(_url())
    with engine.begin() as conn:
        context.configure(connection=conn, **comparison_options())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
