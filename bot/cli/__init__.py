"""The `kpibot` command line.

Each module listed in ``build_app`` adds its own commands with ``register(app: typer.Typer)``,
so every feature owns its CLI file and this one stays a page long; ``bot.cli.common`` holds what
they share (``fail``).
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

import typer
import typer.main

from commands.plain import printable

_CONTROLS_BUT_CR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class PrintableStream:
    """A terminal stream that drops control characters from everything written to it
    (issue 21 item 9): a member name, an import cell or a self-review answer carrying
    ``ESC [ 2 J`` is printed as text, never run by the terminal. On stderr a carriage
    return is kept (progress bars redraw their line with it)."""

    def __init__(self, stream: TextIO, *, keep_cr: bool = False) -> None:
        self._stream = stream
        self._keep_cr = keep_cr

    def write(self, text: Any) -> int:
        if isinstance(text, str):
            text = _CONTROLS_BUT_CR.sub("", text) if self._keep_cr else printable(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _root(
    lang_ui: str | None = typer.Option(
        None,
        "--lang-ui",
        metavar="zh|en",
        help="The language kpibot answers in: zh or en (default: your locale, else DEFAULT_LANG).",
    ),
) -> None:
    """kpibot: customer-service performance evaluation in your team's messenger and the terminal."""
    from bot.cli.language import choose

    choose(lang_ui)
    _printable_terminal()


def _printable_terminal() -> None:
    if not isinstance(sys.stdout, PrintableStream):
        sys.stdout = PrintableStream(sys.stdout)
    if not isinstance(sys.stderr, PrintableStream):
        sys.stderr = PrintableStream(sys.stderr, keep_cr=True)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="kpibot",
        help="kpibot: customer-service performance evaluation in your team's messenger and the "
        "terminal.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        callback=_root,
    )
    # Imported here, not at the top: each command's imports (pandas, the SDKs) load only
    # when the command line is built, and a module importing bot.cli.common stays a leaf.
    from bot.cli import (
        chat,
        cycle,
        db,
        demo,
        export,
        importing,
        members,
        qa,
        run,
        scheme,
        survey,
        telegram,
    )

    for module in (
        chat,
        cycle,
        db,
        demo,
        export,
        importing,
        members,
        qa,
        run,
        scheme,
        survey,
        telegram,
    ):
        module.register(app)
    return app


def build_command(lang: str) -> Any:
    """The command line as click runs it, its help in ``lang`` (``bot.cli.language``)."""
    from bot.cli.language import localized

    return localized(typer.main.get_command(build_app()), lang)


def main() -> None:
    from bot.cli.language import lang_in_argv, ui_lang

    build_command(ui_lang(lang_in_argv(sys.argv[1:])))(prog_name="kpibot")
