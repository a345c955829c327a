"""Spreadsheet cells kpibot writes (CSV and xlsx exports, the survey links file)."""

from __future__ import annotations

from typing import Any

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """A cell value that a spreadsheet will not run as a formula (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(DANGEROUS):
        return "'" + value
    return value
