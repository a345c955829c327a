"""What every ``kpibot`` command shares: how it refuses bad input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

import typer

EXIT_BAD_INPUT = 2
"""The exit code of a command refused for its input (a missing team, an unreadable file…)."""


def fail(lines: str | Iterable[str], *, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print the message (one line or several) on stderr and end the command with ``code``."""
    for line in [lines] if isinstance(lines, str) else lines:
        typer.echo(line, err=True)
    raise typer.Exit(code=code)
