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
from collections.abc import Callable
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


def translator(lang: str | None) -> Translate:
    """A ``_(msgid, **kwargs)`` for one language; kwargs are ``str.format``-ed in."""
    code = normalize_lang(lang)
    cat = catalog(code)

    def _(message: str, /, **kwargs: Any) -> str:
        text = cat.gettext(message)
        return text.format(**kwargs) if kwargs else text

    return _
