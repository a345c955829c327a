"""Feishu (Lark) as a messenger: the adapter (:mod:`.adapter`, lark-oapi), interactive cards
(:mod:`.render`), pacing under Feishu's limits (:mod:`.limits`), who is who (:mod:`.people`)
and ``FEISHU_*`` (:mod:`.settings`).

:data:`MESSENGER` is what :mod:`bot.messengers` lists; nothing here imports lark-oapi (which
takes seconds to import) until an adapter is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.feishu import settings
from bot.messenger import Limits, Messenger

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.feishu.adapter import FeishuAdapter
    from bot.messenger import RouterLike
    from bot.metrics import Metrics
    from bot.settings import Settings


def build(
    settings: Settings, router: RouterLike, engine: Engine, metrics: Metrics
) -> FeishuAdapter:
    from bot.feishu.adapter import build_feishu
    from bot.feishu.people import FeishuPeople

    people = FeishuPeople(engine)
    feishu = build_feishu(settings, router, address=people.open_id_of, lang_of=people.lang_of)
    feishu.count_rate_limits(lambda: metrics.rate_limited("feishu"))
    return feishu


def stores_requests(_adapter: Any) -> bool:
    """Not yet: an event is acknowledged before it is handled and not kept in the inbox (Feishu
    delivers an event again only when it was not acknowledged)."""
    return False


MESSENGER = Messenger(
    platform="feishu",
    name="Feishu",
    settings=settings.FeishuSettings,
    enabled=settings.enabled,
    build=build,
    limits=Limits(per_workspace=50.0, per_chat=5.0, chat_burst=5),
    problems=settings.problems,
    path_prefix="/feishu/",
    stores_requests=stores_requests,
    id_pattern=r"^ou_[0-9A-Za-z]{8,64}$",
    id_example="ou_7d8a6e6df7621556ce0d21922b676706",
)
