"""Scheme changes the platform tests make to the conversation tests' world
(``tests.conversations.world``)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import SCHEME_TEXT


def publish_the_ranking(engine: Engine, *teams: str) -> None:
    """The named teams move to the world's scheme with ``publish_ranking = true``."""
    text = SCHEME_TEXT.replace("publish_ranking = false", "publish_ranking = true")
    parsed = parse_scheme(text)
    assert parsed.publish_ranking
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=text, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        for name in teams:
            team = repo.get_team_by_name(session=session, name=name)
            assert team is not None
            repo.set_team_scheme(
                session=session, team=team, scheme=scheme, actor="test", reason=None
            )
