"""KPI data import: helpdesk, shop and call-centre exports into indicator values.

The public API (the CLI and the chat admin action call these):

* :func:`import_file` ``(session, *, team, period_key, mapping, data, file_name, actor, lang)``
  → :class:`ImportReport` (``status`` imported | unchanged | refused; ``report.lines(lang)``
  renders it in zh/en; ``report.problems`` lists every problem of a refused file).
* :func:`source_of` ``(session, *, team, period_key, agent, indicator=None)``
  → :class:`SourceReport`: each value of an agent with the import it came from.
* :func:`list_imports` / :func:`undo_import`: ``kpibot import list`` and ``kpibot import undo N``
  (and ``/import list``, ``/import undo N`` in chat); an import replaces only the values it
  supplies again, and undo puts back exactly those.
* :func:`prepare` checks a file without a database (roster and period passed in).
* :func:`load_mapping` / :func:`known_mappings`: the mappings in ``schemes/mappings``.

The formulas live in :mod:`scoring.kpi`; this package reads, parses, validates and stores.
"""

from commands.importing.mapping import Mapping, known_mappings, load_mapping, parse_mapping
from commands.importing.problems import ImportRefused, Problem, render_problem, render_problems
from commands.importing.store import (
    ImportList,
    ImportReport,
    Replaced,
    SourceReport,
    UndoReport,
    import_file,
    list_imports,
    sha256_of,
    source_of,
    undo_import,
)
from commands.importing.validation import PeriodInfo, Prepared, Roster, prepare

__all__ = [
    "ImportRefused",
    "ImportList",
    "ImportReport",
    "Replaced",
    "UndoReport",
    "Mapping",
    "PeriodInfo",
    "Prepared",
    "Problem",
    "Roster",
    "SourceReport",
    "import_file",
    "known_mappings",
    "list_imports",
    "load_mapping",
    "parse_mapping",
    "prepare",
    "render_problem",
    "render_problems",
    "sha256_of",
    "source_of",
    "undo_import",
]
