"""What people type for a part of their scheme, in their own words: one resolver for every command.

``/simulate 退款比例=3%``, ``/simulate refund=3%``, ``/appeal 主管评价 …``, ``/appeal uphold 7
工作能力=4 …``: an indicator, a review dimension or a component is found by its name in either
language, by its id (older messages and scripts), or by an unambiguous beginning of a name.
Replies show the name in the reader's language (:attr:`Named.label`), never the id.

    options = indicator_options(scheme, "zh")
    found = resolve("退款", options)       # Found(named=Named(key="refund_ratio", …))
    found.named.label                       # "退款比例"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from commands.explain import component_name
from commands.i18n import Translate, joined, translator
from scoring import Scheme
from storage.models import Member


def N_(message: str) -> str:
    return message


SEPARATORS = re.compile(r"[\s_·．.。/\-－—]+")


@dataclass(frozen=True)
class Named:
    """One thing a person may name: ``key`` is what the code uses, ``label`` what the reader
    sees."""

    key: str
    label: str
    spellings: tuple[str, ...]


@dataclass(frozen=True)
class Found:
    """The outcome of :func:`resolve`: ``named`` when one thing fits, else the ``candidates``
    (several: ambiguous; none: unknown)."""

    named: Named | None
    candidates: tuple[Named, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.named is None and len(self.candidates) > 1


def fold(text: str) -> str:
    """Case, width, spaces and separators do not matter: ``Refund ratio`` = ``refund_ratio`` =
    ``refund-ratio``."""
    import unicodedata

    return SEPARATORS.sub("", unicodedata.normalize("NFKC", text).casefold())


def resolve(typed: str, options: Sequence[Named]) -> Found:
    """The option whose name (either language) or id is ``typed``; else the one whose name begins
    with it; several beginning with it: ambiguous; none: unknown."""
    wanted = fold(typed)
    if not wanted:
        return Found(None)
    exact = _distinct(o for o in options if any(fold(s) == wanted for s in o.spellings))
    if len(exact) == 1:
        return Found(exact[0])
    if exact:
        return Found(None, tuple(exact))
    starts = _distinct(o for o in options if any(fold(s).startswith(wanted) for s in o.spellings))
    if len(starts) == 1:
        return Found(starts[0])
    return Found(None, tuple(starts))


def resolve_leading(tokens: Sequence[str], options: Sequence[Named]) -> tuple[Found, int]:
    """A name at the start of ``tokens`` (it may have spaces: ``Manager review my reason``);
    returns what was found and how many tokens the name took (the longest exact name wins)."""
    for n in range(min(len(tokens), 4), 1, -1):
        found = resolve(" ".join(tokens[:n]), options)
        phrase = fold(" ".join(tokens[:n]))
        if found.named and any(fold(s) == phrase for s in found.named.spellings):
            return found, n
    return (resolve(tokens[0], options), 1) if tokens else (Found(None), 0)


def _distinct(items: object) -> list[Named]:
    out: list[Named] = []
    for item in items:  # type: ignore[attr-defined]
        if all(item.key != o.key for o in out):
            out.append(item)
    return out


PERIOD_STATUSES = {
    "planned": N_("planned"), "open": N_("open"), "closed": N_("closed"), "locked": N_("locked"),
    "published": N_("published"),
}  # fmt: skip
"""A period's stored status as people read it (``storage.models.PERIOD_STATUS_VALUES``)."""


def period_status(_: Translate, status: str) -> str:
    """``published`` → 已发布: a period's status in the reader's words."""
    return _(PERIOD_STATUSES[status]) if status in PERIOD_STATUSES else status


def listing(options: Sequence[Named], lang: str) -> str:
    """The names a person can type, as a list in the reader's language."""
    return joined([o.label for o in options], lang)


def person_order(member: Member) -> tuple[str, str, int]:
    """The order of people in a list, the same in both languages: by the name written in Latin
    letters when the member has one (pinyin order for 王小红 / Wang Xiaohong), else by the name."""
    return ((member.name_en or member.name).casefold(), member.name, member.id or 0)


def indicator_options(scheme: Scheme, lang: str) -> list[Named]:
    return [
        Named(i.id, i.name.get(lang), (i.name.get(lang), i.name.zh, i.name.en, i.id))
        for i in scheme.indicators
    ]


def component_label(scheme: Scheme, key: str, lang: str) -> str:
    """A component id (or ``kpi``, the indicator table) as the reader names it."""
    _ = translator(lang)
    comp = scheme.component(key)
    if comp is not None:
        return component_name(_, lang, comp)
    return _("KPI table") if key == "kpi" else key


def component_options(scheme: Scheme, lang: str, keys: Sequence[str]) -> list[Named]:
    """The components ``keys`` (ids, ``kpi`` for the indicator table) by name; the kind (``self``,
    ``manager``) and ``KPI`` are spellings too."""
    out = []
    for key in keys:
        comp = scheme.component(key)
        kind = comp.kind if comp is not None else key
        spellings = (component_label(scheme, key, lang), component_label(scheme, key, "zh"),
                     component_label(scheme, key, "en"), key, kind)  # fmt: skip
        out.append(Named(key, spellings[0], spellings))
    return out


def dimension_options(
    scheme: Scheme, lang: str, *, kinds: Sequence[str] = ("self", "manager"), qualified: bool = True
) -> list[Named]:
    """The rated review dimensions of the components of ``kinds``; ``key`` is ``kind.dimension``
    (``manager.ability``) when ``qualified``, else the dimension's id. A dimension is named alone
    (``工作能力``) or after its component (``主管评价.工作能力``)."""
    out = []
    for comp in scheme.components:
        if comp.kind not in kinds:
            continue
        names = {code: component_label(scheme, comp.id, code) for code in ("zh", "en")}
        for dim in comp.rated_dimensions:
            key = f"{comp.kind}.{dim.id}" if qualified else dim.id
            label = f"{names[lang]}·{dim.name.get(lang)}" if qualified else dim.name.get(lang)
            spellings = (
                label,
                dim.name.zh,
                dim.name.en,
                dim.id,
                key,
                f"{comp.kind}.{dim.id}",
                f"{names['zh']}.{dim.name.zh}",
                f"{names['en']}.{dim.name.en}",
            )
            out.append(Named(key, label, spellings))
    return out
