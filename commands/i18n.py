"""Every user-facing text, in Simplified Chinese and English, through gettext catalogues.

Message ids are English. Catalogues live in ``commands/locale/<lang>/LC_MESSAGES/<domain>.po``;
each feature owns its own domain file and all domains of a language are merged, so
two features never edit the same catalogue. The ``.po`` files are read with Babel at
first use (no compile step on install). English falls back to the message id.

    from commands.i18n import translator
    _ = translator("zh")
    _("You can review only members of your teams.")
    _("{n} ratings", n=3)
"""

from __future__ import annotations

import gettext
import re
import string
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"
LOCALE_DIR = Path(__file__).with_name("locale")

Translate = Callable[..., str]


def normalize_lang(value: str | None, default: str = DEFAULT_LANG) -> str:
    """Map 'zh-CN', 'zh_Hans', 'en-US', 'EN' … onto a supported language, else the default."""
    if not value:
        return default
    head = value.strip().replace("_", "-").split("-")[0].lower()
    return head if head in LANGUAGES else default


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The merged catalogue of every domain for one language."""
    merged: gettext.NullTranslations = gettext.NullTranslations()
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as fh:
            cat = read_po(fh, locale=lang)
        from io import BytesIO

        from babel.messages.mofile import write_mo

        buf = BytesIO()
        write_mo(buf, cat, use_fuzzy=False)
        buf.seek(0)
        translations = Translations(fp=buf)
        if isinstance(merged, Translations):
            merged.merge(translations)
        else:
            merged = translations
    return merged


def joined(items: Iterable[str], lang: str) -> str:
    """Names in a sentence: ``李娜、张伟`` in Chinese (the enumeration comma), ``Alice, Bob`` in
    English: the catalogue's ``", "``, as ``_(", ")`` writes it where only a translator is at
    hand."""
    return catalog(normalize_lang(lang)).gettext(", ").join(items)


def translator(lang: str | None) -> Translate:
    """A ``_(msgid, **kwargs)`` for one language; kwargs are ``str.format``-ed in (in Chinese
    with :func:`spaced_format`'s spacing rule), a list or tuple as the language writes a list
    (:func:`joined`)."""
    code = normalize_lang(lang)
    cat = catalog(code)
    fill = spaced_format if code == "zh" else _plain_format

    def _(message: str, /, **kwargs: Any) -> str:
        text = cat.gettext(message)
        if not kwargs:
            return text
        for key, value in kwargs.items():
            if isinstance(value, list | tuple):
                kwargs[key] = joined(value, code)
        return fill(text, kwargs)

    return _


def _plain_format(template: str, values: dict[str, Any]) -> str:
    return template.format(**values)


_FORMATTER = string.Formatter()
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_START = re.compile(r"[A-Za-z0-9¥$€£]")
_LATIN_END = re.compile(r"[A-Za-z0-9%]")


def spaced_format(template: str, values: dict[str, Any]) -> str:
    """``template.format(**values)`` with the one rule for spaces in Chinese: a Chinese character
    and a filled-in value meet with a space between them when the value begins (or ends) with a
    Latin letter, a digit or a currency sign, and with none when it is Chinese: ``团队 {team}
    的 {name}`` reads ``团队 demo 的张伟`` and ``团队 london 的 Alice``, as ``团队{team}的{name}``
    does.
    Only the characters next to a placeholder are concerned; the catalogue's own text keeps its
    spaces (a space between Chinese and Latin or digits, ``tests/unit/test_chinese_wording.py``)."""
    pieces: list[tuple[bool, str]] = []  # (is a value, text)
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        if literal:
            pieces.append((False, literal))
        if field is None:
            continue
        value, _key = _FORMATTER.get_field(field, (), values)
        value = _FORMATTER.convert_field(value, conversion)
        spec = _FORMATTER.vformat(spec, (), values) if spec else ""
        pieces.append((True, _FORMATTER.format_field(value, spec)))
    out = [text for _is_value, text in pieces]
    for i, (is_value, text) in enumerate(pieces):
        if not is_value or not text:
            continue
        if i > 0 and not pieces[i - 1][0]:
            out[i - 1] = _before(out[i - 1], text[0])
        if i + 1 < len(pieces) and not pieces[i + 1][0]:
            out[i + 1] = _after(out[i + 1], text[-1])
    return "".join(out)


def _before(literal: str, first: str) -> str:
    """The literal before a value beginning with ``first``, its end spaced by the rule."""
    if literal.endswith(" ") and len(literal) > 1 and _HAN.match(literal[-2]) and _HAN.match(first):
        return literal[:-1]
    if _HAN.match(literal[-1]) and _LATIN_START.match(first):
        return literal + " "
    return literal


def _after(literal: str, last: str) -> str:
    """The literal after a value ending with ``last``, its start spaced by the rule."""
    if literal.startswith(" ") and len(literal) > 1 and _HAN.match(literal[1]) and _HAN.match(last):
        return literal[1:]
    if _HAN.match(literal[0]) and _LATIN_END.match(last):
        return " " + literal
    return literal


def language_name(_: Translate, lang: str) -> str:
    """A language code as people read it, in the reader's language (``中文``, ``English``)."""
    return _("Chinese") if lang == "zh" else _("English")
