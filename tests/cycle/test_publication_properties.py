"""Issue 14 "Done when": over random teams, no published result lacks a required part unless an
admin confirmed it — whatever mix of scheduled and manual publications and closes ran."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.cycle import run_step
from storage import consequences as consequence_store
from storage import outbox as store
from storage import repo
from storage.db import make_engine, unit_of_work
from tests.cycle.gaps_world import PERIOD, PUBLISH_AT, add_agent, shop_team
from tests.cycle.test_publication_with_gaps import say

AGENT = st.fixed_dictionaries({
    "self": st.booleans(), "manager": st.booleans(), "data": st.booleans(),
    "conversion": st.sampled_from([0.2, 0.35, 0.45, 0.5]), "score": st.integers(1, 5),
})  # fmt: skip
ACTIONS = st.lists(
    st.sampled_from(
        [
            "scheduled",
            "/runstep publish shop 2026-10",
            "/runstep publish shop 2026-10 confirm",
            "/runstep publish shop 2026-10 hold",
            "/period close shop 2026-10",
            "/period close shop 2026-10 confirm",
        ]
    ),
    min_size=1,
    max_size=3,
)


@pytest.mark.slow
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agents=st.lists(AGENT, min_size=1, max_size=5), actions=ACTIONS)
def test_no_published_result_lacks_a_required_part_unless_an_admin_confirmed_it(
    agents: list[dict],
    actions: list[str],
    _sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = tmp_path_factory.mktemp("gaps") / "kpibot.db"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with unit_of_work(engine) as s:
            team, period = shop_team(s)
            for i, a in enumerate(agents):
                add_agent(
                    s,
                    team,
                    period,
                    f"agent{i}",
                    self_score=a["score"] if a["self"] else None,
                    manager_score=a["score"] if a["manager"] else None,
                    data=a["data"],
                    conversion=a["conversion"],
                )
            ann = repo.actor_of(repo.get_member_by_name(session=s, team=team, name="Ann"))
        for action in actions:
            if action == "scheduled":
                with unit_of_work(engine) as s:
                    shop = repo.get_team_by_name(session=s, name="shop")
                    run_step(
                        s, team=shop, period_key=PERIOD, step="publish", now=PUBLISH_AT, worker="w"
                    )
            else:
                say(engine, "Ann", action)
        confirmed_by_an_admin = any(a.endswith("publish shop 2026-10 confirm") for a in actions)
        with unit_of_work(engine) as s:
            shop = repo.get_team_by_name(session=s, name="shop")
            period = repo.get_period(session=s, team=shop, key=PERIOD)
            rows = repo.list_scores(session=s, period=period)
            told = {m.member_id for m in store.list_messages(session=s) if m.kind == "result"}
            paid = {e.member_id for e in consequence_store.list_payroll(session=s, period=period)}
            planned = {p.member_id for p in consequence_store.list_plans(session=s, period=period)}
            met = {m.member_id for m in consequence_store.list_meetings(session=s, period=period)}
            confirmations = {e.entity_id for e in repo.audit_trail(session=s, entity="score")
                             if e.action == "score.confirmed" and e.actor == ann}  # fmt: skip
            for row in rows:
                gap = bool(row.breakdown.get("provisional"))
                published = row.release in ("final", "confirmed")
                if published and gap:
                    assert (
                        row.release == "confirmed"
                        and row.released_by == ann
                        and confirmed_by_an_admin
                    )
                    assert str(row.id) in confirmations
                    assert row.rank is None and row.member_id not in paid | planned
                if row.release == "final":
                    assert not gap
                if not published:
                    assert row.member_id not in told | paid | planned | met
                if period.status == "published":
                    assert row.release is not None and row.locked
            if period.status == "published":
                assert rows, "a period was published with nothing to publish"
            assert told <= {r.member_id for r in rows if r.release in ("final", "confirmed")}
    finally:
        engine.dispose()
