"""The systems exports come from, as a member's aliases name them.

A member can have an alias (their account) per source: a 旺旺 sub-account ``店铺:小雨``
in ``taobao``, a JD UID in ``jd``, an Avaya login in ``avaya``, a Zendesk agent e-mail in
``zendesk``. A mapping says its source (``source = "taobao"``; a mapping that says none is its
own source, under its name), and an import finds agents by their aliases of that source first.
"""

from __future__ import annotations

from pathlib import Path

from commands.i18n import Translate
from commands.importing.mapping import MAPPINGS_DIR, known_mappings, load_mapping
from commands.importing.problems import ImportRefused
from commands.permissions import N_

BUILT_IN: dict[str, str] = {
    "taobao": N_("Taobao/Tmall Wangwang sub-account"),
    "jd": N_("JD Dongdong account (UID)"),
    "pinduoduo": N_("Pinduoduo agent account"),
    "zendesk": N_("Zendesk agent e-mail"),
    "freshdesk": N_("Freshdesk agent e-mail"),
    "genesys": N_("Genesys Cloud user"),
    "avaya": N_("Avaya CMS login ID"),
}
"""Sources every installation knows, with what their alias is (msgids, shown translated)."""


def known_sources(folder: Path = MAPPINGS_DIR) -> list[str]:
    """The built-in sources and every source a mapping in ``folder`` names, sorted."""
    found = set(BUILT_IN)
    for name in known_mappings(folder):
        try:
            found.add(load_mapping(name, folder).source)
        except ImportRefused:
            continue  # a broken mapping names no source (importing with it says what is wrong)
    return sorted(found)


def source_title(source: str, _: Translate) -> str:
    """``taobao (淘宝/天猫 旺旺子账号)``: the source's word with what its aliases are."""
    title = BUILT_IN.get(source)
    return f"{source} ({_(title)})" if title else source
