"""Spreadsheet cells kpibot writes (CSV and xlsx exports, the survey links file)."""

from __future__ import annotations

from typing import Any

from commands.plain import printable

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (numbers stay numbers), without
    control characters (openpyxl refuses them and a CSV reader may too; OWASP "CSV injection":
    a text starting with = + - @ tab or CR is prefixed with a quote)."""
    if isinstance(value, str):
        value = printable(value)
        if value.startswith(DANGEROUS):
            return "'" + value
    return value
