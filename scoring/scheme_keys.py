"""Every table of a scheme checked against its schema: an unknown key is an error.

A misspelt key must never pass silently (``missng = "worst"`` once fell back to ``exclude`` and
moved an agent from 85 to 100 and the reward). :func:`unknown_keys` walks the TOML data against
:data:`SCHEMA` and returns one :class:`~scoring.scheme.Problem` per unknown key, naming the key,
its line in the file and the closest valid key. Method ``params`` are checked by the method
readers (``unknown_param``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from scoring.cycle_rules import CYCLE_KEYS
from scoring.scheme import ALL_PART_KEYS, Problem

Schema = dict[str, "Schema | None"]  # a key → the schema of its table(s), or None for a plain value
ANY: Schema = {"*": None}  # not checked here
NAMES: Schema = {"zh": None, "en": None}
DIMENSION: Schema = {
    "id": None,
    "name": NAMES,
    "weight": None,
    "computed": None,
    "hint": NAMES,
    "missing": None,
}
CHECK: Schema = {
    "id": None,
    "name": NAMES,
    "points": None,
    "weight": None,
    "critical": None,
    "na": None,
}
SAMPLE: Schema = {"per": None, "count": None, "share": None}
COMPONENT: Schema = {
    "kind": None,
    "id": None,
    "weight": None,
    "name": NAMES,
    "missing": None,
    "dimensions": DIMENSION,
    "indicators": None,
    "min_responses": None,
    "min_raters": None,
    "min_samples": None,
    "below_min": None,
    "default": None,
    "csat": None,
    "link_expiry_days": None,
    "repeat": None,
    "checks": CHECK,
    "blind": None,
    "reviewers": None,
    "sample": SAMPLE,
    "link": None,
}
INDICATOR: Schema = {
    "id": None,
    "name": NAMES,
    "unit": None,
    "better": None,
    "points": None,
    "method": None,
    "params": ANY,
    "missing": None,
    "group": None,
    "source": None,
    "provider": None,
}
STAR: Schema = {"level": None, "min_total": None, "bonus_base": None}
APPLY: Schema = {
    "reward": None,
    "penalty": None,
    "currency": None,
    "improvement_last": None,
    "improvement_days": None,
    "post_change_after": None,
    "stars": STAR,
    "appeal_days": None,
    "appeal_answer_days": None,
    "ties": None,
    "announce_best": None,
    "personal_goals": None,
}
TARGET: Schema = {"id": None, "name": NAMES, "min_total": None, "max_share": None}
CALIBRATION: Schema = {"outlier_k": None, "min_reviews": None, "targets": TARGET}
PAY_PART: Schema = {**dict.fromkeys(ALL_PART_KEYS), "name": NAMES}
SCHEMA: Schema = {
    "id": None,
    "name": NAMES,
    "period": None,
    "language": None,
    "publish_ranking": None,
    "precision": None,
    "components": COMPONENT,
    "indicators": INDICATOR,
    "apply": APPLY,
    "calibration": CALIBRATION,
    "cycle": dict.fromkeys(CYCLE_KEYS),
    "pay": PAY_PART,
}

Path = tuple[str | int, ...]
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\s]+?)\s*\]\]?")


def _sections(text: str) -> list[Path]:
    """The table path of every line: ``("components", 2, "checks", 1)`` inside the second
    component's first ``[[components.checks]]``; ``()`` at the top."""
    counts: dict[Path, int] = {}
    current: Path = ()
    out: list[Path] = []
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match and not line.lstrip().startswith("#"):
            parts = [p.strip() for p in match.group(2).split(".")]
            path: Path = ()
            for k, part in enumerate(parts):
                last = k == len(parts) - 1
                # an array of tables' earlier parts refer to its latest element
                if not last and path + (part,) in counts:
                    path = path + (part, counts[path + (part,)])
                elif last and match.group(1) == "[[":
                    key = path + (part,)
                    counts[key] = counts.get(key, 0) + 1
                    path = key + (counts[key],)
                else:
                    path = path + (part,)
            current = path
        out.append(current)
    return out


def _line_of(text: str, sections: list[Path], paths: list[Path], key: str) -> int | None:
    pattern = re.compile(r"(?:^|[\s{,])" + re.escape(key) + r"\s*[=.]")
    lines = text.splitlines()
    for path in paths:
        for n, (line, section) in enumerate(zip(lines, sections, strict=True), start=1):
            if section[: len(path)] == path and pattern.search(line.split("#", 1)[0]):
                return n
    return None


def _item_where(parent: str, key: str, i: int, item: dict[str, Any]) -> str:
    """How a problem names an array element: its id (a component: its kind), else ``key[i]``."""
    own = item.get("id") if isinstance(item.get("id"), str) else None
    if own is None and key == "components" and isinstance(item.get("kind"), str):
        own = item["kind"]
    name = own or f"{key}[{i}]"
    if key == "pay" and own:
        # a pay part is named as the pay reader names it (ids may repeat an indicator's)
        name = f"pay.{own}"
    return name if parent == "scheme" else f"{parent}.{name}"


def unknown_keys(data: dict[str, Any], text: str) -> list[Problem]:
    """One problem per key no schema knows, with its line and the closest valid key."""
    sections = _sections(text)
    problems: list[Problem] = []

    def walk(
        table: dict[str, Any], schema: Schema, where: str, paths: list[Path], field: str
    ) -> None:
        if "*" in schema:
            return
        for key, value in table.items():
            if key not in schema:
                line = _line_of(text, sections, paths, key)
                close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
                params: dict[str, Any] = {"key": key, "line": line or "?"}
                if close:
                    problems.append(
                        Problem(
                            where,
                            f"{field}{key}",
                            "unknown_key_close",
                            {**params, "close": close[0]},
                        )
                    )
                else:
                    problems.append(
                        Problem(
                            where,
                            f"{field}{key}",
                            "unknown_key",
                            {**params, "choices": ", ".join(schema)},
                        )
                    )
                continue
            sub = schema[key]
            if sub is None:
                continue
            if isinstance(value, dict):
                top_table = (
                    where == "scheme" and not field and key in ("apply", "calibration", "cycle")
                )
                walk(
                    value,
                    sub,
                    key if top_table else where,
                    [p + (key,) for p in paths] + paths,
                    "" if top_table else f"{field}{key}.",
                )
            elif isinstance(value, list):
                for i, item in enumerate(value, start=1):
                    if isinstance(item, dict):
                        walk(
                            item,
                            sub,
                            _item_where(where, key, i, item),
                            [p + (key, i) for p in paths] + paths,
                            "",
                        )

    walk(data, SCHEMA, "scheme", [()], "")
    return problems
