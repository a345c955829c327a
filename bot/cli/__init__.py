"""The `kpibot` command line.

Each module in this package that defines ``register(app: typer.Typer)`` adds its own
commands, so every feature owns its CLI file and this one stays a page long.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="kpibot",
        help="kpibot: customer-service performance evaluation in Slack and Telegram.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
    return app


def main() -> None:
    build_app()()
