"""Publication with gaps (issue 14 item 1) and the empty publication (issue 21 item 12), from seed
004's wording: the manager's review and the indicator table make the result; a result missing
either is provisional and is never published as final, rewarded or penalised; nobody's gaps are
published silently, and nothing is published when there is nothing to publish."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from commands import export
from commands.context import AppConfig
from commands.cycle import run_step
from commands.messages import Incoming
from commands.router import Router
from storage import consequences as consequence_store
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from tests.cycle.gaps_world import (
    MISSING_EN,
    MISSING_ZH,
    PERIOD,
    PUBLISH_AT,
    add_agent,
    seed_004_shop,
    shop_team,
)

runner = CliRunner()


@pytest.fixture
def shop(engine: Engine) -> Engine:
    with unit_of_work(engine) as s:
        seed_004_shop(s)
    return engine


def say(engine: Engine, who: str, text: str) -> str:
    router = Router(engine, AppConfig(default_lang="en"), lambda: PUBLISH_AT)
    return "\n".join(
        r.text for r in router.handle(Incoming(platform="test", user_id=who, text=text))
    )


def state(engine: Engine, team: str = "shop") -> dict:
    """Everything a publication could have changed."""
    with unit_of_work(engine) as s:
        t = repo.get_team_by_name(session=s, name=team)
        period = repo.get_period(session=s, team=t, key=PERIOD)
        names = {m.id: m.name for m in repo.list_members(session=s, team=t)}
        return {
            "status": period.status,
            "scores": {
                names[r.member_id]: (r.release, r.released_by, r.locked)
                for r in repo.list_scores(session=s, period=period)
            },
            "messages": Counter(
                (names.get(m.member_id, "team"), m.kind) for m in store.list_messages(session=s)
            ),
            "texts": {
                (names.get(m.member_id, "team"), m.kind): m.reply.get("text", "")
                for m in store.list_messages(session=s)
            },
            "steps": [(st.period_key, st.step) for st in store.list_steps(session=s, team_id=t.id)],
            "payroll": sorted(
                (names[e.member_id], e.kind)
                for e in consequence_store.list_payroll(session=s, period=period)
            ),
            "meetings": sorted(
                names[m.member_id]
                for m in consequence_store.list_meetings(session=s, period=period)
            ),
            "plans": sorted(
                names[p.member_id] for p in consequence_store.list_plans(session=s, period=period)
            ),
        }


def scheduled_publish(engine: Engine) -> str:
    with unit_of_work(engine) as s:
        team = repo.get_team_by_name(session=s, name="shop")
        return run_step(
            s, team=team, period_key=PERIOD, step="publish", now=PUBLISH_AT, worker="w"
        ).status


def test_a_scheduled_publication_holds_provisional_results_and_tells_the_admins(
    shop: Engine,
) -> None:
    assert scheduled_publish(shop) == "ran"
    after = state(shop)
    assert after["status"] == "published"
    assert after["scores"]["Lina"] == ("held", None, True)
    assert {after["scores"][n][0] for n in ("Alice", "Bob", "Carol")} == {"final"}
    # Lina is not broadcast as final: no result message, told hers is held and why
    assert ("Lina", "result") not in after["messages"] and after["messages"][
        ("Lina", "result.held")
    ] == 1
    assert f"missing ({MISSING_EN})" in after["texts"][("Lina", "result.held")]
    # no consequences for her; the complete results get theirs (004: ¥100 to rank 1, ¥100 off the
    # last)
    assert after["payroll"] == [("Alice", "reward"), ("Carol", "penalty")]
    assert "Lina" not in after["meetings"] and "Lina" not in after["plans"]
    # each admin is told who is missing what, in their own language
    assert f"· Lina: {MISSING_EN}" in after["texts"][("Ann", "publish.held")]
    assert "/runstep publish shop 2026-10 confirm" in after["texts"][("Ann", "publish.held")]
    assert f"· Lina：{MISSING_ZH}" in after["texts"][("胡敏", "publish.held")]
    assert "已暂缓发布" in after["texts"][("胡敏", "publish.held")]
    # the team's ranking ranks the complete results only and does not broadcast her total
    ranking = (
        after["texts"][("team", "ranking")]
        if ("team", "ranking") in after["texts"]
        else after["texts"][("Mary", "manager.table")]
    )
    assert (
        "1. Alice" in ranking
        and "3. Carol" in ranking
        and f"· Lina: held back, missing: {MISSING_EN}" in ranking
    )
    assert "100.0" not in ranking.replace("¥100.00", "")  # Lina's provisional total is not shown


def test_an_admin_releases_a_held_result_as_provisional_and_it_is_never_rewarded(
    shop: Engine,
) -> None:
    scheduled_publish(shop)
    asked = say(shop, "Ann", "/runstep publish shop 2026-10")
    assert f"· Lina: {MISSING_EN}" in asked and "Nothing was published." in asked
    assert state(shop)["scores"]["Lina"][0] == "held"
    with unit_of_work(shop) as s:
        ann = repo.get_member_by_name(
            session=s, team=repo.get_team_by_name(session=s, name="shop"), name="Ann"
        )
        ann_actor = repo.actor_of(ann)
    done = say(shop, "Ann", "/runstep publish shop 2026-10 confirm")
    assert (
        done.startswith("Ran publication for shop 2026-10:")
        and "provisional results published as confirmed: 1" in done
    )
    after = state(shop)
    assert after["scores"]["Lina"] == ("confirmed", ann_actor, True)
    text = after["texts"][("Lina", "result")]
    assert f"not ranked: provisional, missing: {MISSING_EN}" in text and "confirmed by Ann" in text
    assert (
        "Reward for rank 1" not in text
        and "Deduction" not in text
        and "improvement plan" not in text
    )
    assert after["payroll"] == [
        ("Alice", "reward"),
        ("Carol", "penalty"),
    ]  # still nobody else's money moved
    assert "Lina" in after["meetings"] and "Lina" not in after["plans"]
    assert after["messages"][("Alice", "result")] == 1  # nobody hears their result twice
    with unit_of_work(shop) as s:
        actions = [
            e.action for e in repo.audit_trail(session=s, entity="score") if e.actor == ann_actor
        ]
    assert actions == ["score.confirmed"]


def test_publishing_by_hand_with_gaps_lists_who_misses_what_and_waits_for_the_admins_choice(
    shop: Engine,
) -> None:
    before = state(shop)
    asked_en = say(shop, "Ann", "/runstep publish shop 2026-10")
    asked_zh = say(shop, "胡敏", "/runstep publish shop 2026-10")
    assert asked_en.splitlines()[1] == f"· Lina: {MISSING_EN}"
    assert (
        "/runstep publish shop 2026-10 confirm" in asked_en
        and "/runstep publish shop 2026-10 hold" in asked_en
    )
    assert asked_zh.splitlines()[1] == f"· Lina：{MISSING_ZH}" and "什么都没有发布" in asked_zh
    assert state(shop) == before  # nothing published, locked, stored, queued or claimed
    held = say(shop, "Ann", "/runstep publish shop 2026-10 hold")
    assert "provisional results held: 1" in held and "results final: 3" in held
    after = state(shop)
    assert after["status"] == "published" and after["scores"]["Lina"][0] == "held"


def test_the_command_line_without_a_terminal_refuses_a_publication_with_gaps_unless_told(
    shop: Engine,
) -> None:
    db = ["--db", str(shop.url)]
    before = state(shop)
    refused = runner.invoke(
        build_app(), ["cycle", "run-step", "publish", "--team", "shop", "--period", PERIOD, *db]
    )
    assert refused.exit_code == 2
    assert f"· Lina：{MISSING_ZH}" in refused.output  # the CLI speaks the default language, zh
    assert "--confirm-provisional" in refused.output and "--hold-provisional" in refused.output
    assert state(shop) == before
    both = runner.invoke(
        build_app(),
        [
            "cycle",
            "run-step",
            "publish",
            "--team",
            "shop",
            "--period",
            PERIOD,
            "--confirm-provisional",
            "--hold-provisional",
            *db,
        ],
    )
    assert both.exit_code == 2 and state(shop) == before
    done = runner.invoke(
        build_app(),
        [
            "cycle",
            "run-step",
            "publish",
            "--team",
            "shop",
            "--period",
            PERIOD,
            "--confirm-provisional",
            *db,
        ],
    )
    assert done.exit_code == 0, done.output
    assert state(shop)["scores"]["Lina"] == ("confirmed", "cli", True)
    assert "confirmed by an admin on the command line" in state(shop)["texts"][("Lina", "result")]


def test_the_command_line_on_a_terminal_asks_and_stops_when_told_to(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.cli.cycle

    monkeypatch.setattr(bot.cli.cycle, "interactive", lambda: True)
    before = state(shop)
    args = [
        "cycle",
        "run-step",
        "publish",
        "--team",
        "shop",
        "--period",
        PERIOD,
        "--db",
        str(shop.url),
    ]
    stopped = runner.invoke(build_app(), args, input="s\n")
    assert (
        stopped.exit_code == 2
        and f"· Lina：{MISSING_ZH}" in stopped.output
        and state(shop) == before
    )
    held = runner.invoke(build_app(), args, input="h\n")
    assert held.exit_code == 0, held.output
    assert (
        state(shop)["scores"]["Lina"][0] == "held" and state(shop)["scores"]["Alice"][0] == "final"
    )


def test_publishing_an_open_period_where_nobody_has_a_score_is_refused_and_changes_nothing(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as s:
        team, period = shop_team(s, name="empty")
        add_agent(s, team, period, "Dora", self_score=None, manager_score=None, data=False)
    before = state(engine, "empty")
    result = runner.invoke(
        build_app(),
        [
            "cycle",
            "run-step",
            "publish",
            "--team",
            "empty",
            "--period",
            PERIOD,
            "--db",
            str(engine.url),
        ],
    )
    assert result.exit_code == 2
    assert "empty 2026-10 没有可以发布的结果：还没有人得到分数" in result.output
    chat = say(engine, "Ann", "/runstep publish empty 2026-10")
    assert (
        chat
        == "Nothing to publish for empty 2026-10: nobody has a score yet (no reviews and no data). "
        "Nothing was changed."
    )
    assert state(engine, "empty") == before and before["status"] == "open"


def test_a_scheduled_publication_with_nothing_to_publish_keeps_the_period_open_and_tells_the_admins(
    engine: Engine,
) -> None:
    with unit_of_work(engine) as s:
        team, period = shop_team(s, name="empty")
        add_agent(s, team, period, "Dora", self_score=None, manager_score=None, data=False)
        outcome = run_step(
            s, team=team, period_key=PERIOD, step="publish", now=PUBLISH_AT, worker="w"
        )
    after = state(engine, "empty")
    assert outcome.counts.get("nothing_to_publish") == 1
    assert after["status"] == "open" and after["scores"] == {}
    assert ("Dora", "result") not in after["messages"] and ("team", "ranking") not in after[
        "messages"
    ]
    assert (
        "did not run: Nothing to publish for empty 2026-10"
        in after["texts"][("Ann", "publish.nothing")]
    )
    assert "/runstep publish empty 2026-10" in after["texts"][("胡敏", "publish.nothing")]


def test_closing_a_period_with_gaps_lists_who_is_missing_what_and_asks_the_admin_to_confirm(
    shop: Engine,
) -> None:
    before = state(shop)
    for command in ("/period close shop 2026-10", "/runstep close shop 2026-10"):
        asked = say(shop, "Ann", command)
        assert (
            f"· Lina: {MISSING_EN}" in asked
            and f"{command} confirm" in asked
            and "Nothing was closed." in asked
        )
        assert state(shop) == before
    assert (
        say(shop, "Ann", "/period close shop 2026-10 confirm")
        == "Period 2026-10 of shop is closed; no more reviews."
    )
    assert state(shop)["status"] == "closed"


def test_a_provisional_result_is_shown_as_provisional_in_me_rank_and_the_export(
    shop: Engine,
) -> None:
    me = say(shop, "Lina", "/me 2026-10")
    assert (
        f"Total 100.0 of 100 · not ranked: provisional, missing: {MISSING_EN}" in me
        and "rank None" not in me
    )
    ranking = say(shop, "Mary", "/rank shop 2026-10")
    assert "1. Alice" in ranking and "None." not in ranking
    assert f"· Lina  100.0, missing: {MISSING_EN}" in ranking
    with unit_of_work(shop) as s:
        team = repo.get_team_by_name(session=s, name="shop")
        rows = export.build_sheets(s, team, repo.get_period(session=s, team=team, key=PERIOD))[
            "scores"
        ]
    header, by_name = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header[-3:] == ["provisional", "missing", "publication"]
    assert by_name["Lina"]["provisional"] == "Yes" and by_name["Lina"]["missing"] == MISSING_EN
    assert by_name["Lina"]["rank"] is None and by_name["Lina"]["reward"] is None
    assert by_name["Alice"]["provisional"] == "No" and by_name["Alice"]["missing"] is None
    scheduled_publish(shop)
    assert "Held: not published while a required part is missing" in say(
        shop, "Lina", "/me 2026-10"
    )
    with unit_of_work(shop) as s:
        team = repo.get_team_by_name(session=s, name="shop")
        rows = export.build_sheets(s, team, repo.get_period(session=s, team=team, key=PERIOD))[
            "scores"
        ]
    assert {r[0]: r[-1] for r in rows[1:]} == {
        "Alice": "published",
        "Bob": "published",
        "Carol": "published",
        "Lina": "held back for an admin",
    }
