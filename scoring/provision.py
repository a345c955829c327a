"""Who fills each indicator in, checked: a scheme the bot can run has a provider for every value.

``provision_problems(scheme)`` lists (as :class:`~scoring.scheme.Problem`) every indicator whose
value nothing can supply: an ``import`` indicator whose column (``source`` or ``id``) no import kind
stores — the set comes from ``scoring.kpi`` (its measures and formulas) and the indicators the
import mappings declare (passed in by the caller), never a hand-kept list — or a ``qa``/``survey``
indicator (quality sampling and customer ratings enter the total through the ``qa`` and ``customer``
components, not as indicator values). ``manager`` (asked in ``/review``) and ``admin`` (typed by
hand) can give any value.

``kpibot scheme check`` and setting a team's scheme refuse such a scheme; ``kpibot score``, whose
CSV supplies every value itself, does not need this check.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scoring import kpi
from scoring.scheme import Problem, Scheme

FORM_PROVIDERS = ("manager", "admin")


def provision_problems(scheme: Scheme, declared: Iterable[str] = ()) -> list[Problem]:
    """The scheme's indicators nothing can fill in. ``declared``: the indicators the import
    mappings declare themselves (a platform's own rate: ``commands.importing.mapping.
    declared_indicators``), importable besides kpibot's own measures and formulas."""
    problems: list[Problem] = []
    importable = sorted(kpi.importable(declared))
    for ind in scheme.indicators:
        if ind.provider in FORM_PROVIDERS:
            continue
        if ind.provider != "import":
            problems.append(Problem(ind.id, "provider", "no_provider", {"provider": ind.provider}))
            continue
        if ind.column in importable:
            continue
        close = difflib.get_close_matches(ind.column, importable, n=1, cutoff=0.5)
        if close:
            problems.append(
                Problem(
                    ind.id,
                    "source" if ind.source else "id",
                    "not_importable_close",
                    {"column": ind.column, "close": close[0]},
                )
            )
        else:
            problems.append(
                Problem(
                    ind.id,
                    "source" if ind.source else "id",
                    "not_importable",
                    {"column": ind.column},
                )
            )
    return problems
