"""What ``env.py``, ``alembic check`` and the drift test share: the metadata and the compare
options."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from sqlalchemy import JSON, MetaData

SKIP_MODULES = {"db", "migrations"}


def target_metadata() -> MetaData:
    """The metadata of every table. Every table lives in ``storage.models`` (its ``TABLES``);
    each other ``storage`` module is imported too, so that a table defined anywhere else is
    seen (and refused by ``tests/storage/test_migrations.py``) rather than silently missed."""
    import storage
    from storage.models import metadata

    for info in pkgutil.iter_modules(storage.__path__):
        if info.name not in SKIP_MODULES:
            importlib.import_module(f"storage.{info.name}")
    return metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render kpibot's own column types as ``storage.types.X()`` (the revision template imports
    it)."""
    if type_ != "type":
        return False
    if type(obj).__module__ == "storage.types":
        return f"storage.types.{type(obj).__name__}()"
    if isinstance(obj, JSON) and "postgresql" in getattr(obj, "_variant_mapping", {}):
        return "storage.types.json_type()"
    return False


def comparison_options() -> dict[str, Any]:
    return {
        "compare_type": True,
        "compare_server_default": False,
        "render_as_batch": True,
        "render_item": render_item,
        "target_metadata": target_metadata(),
    }
