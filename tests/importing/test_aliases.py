"""Agents known by their accounts: an import finds them by an alias of the mapping's source
first, then by name, and suggests close names for the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from commands.aliases import add_alias, alias_lines, remove_alias
from commands.i18n import translator
from commands.importing import import_file, parse_mapping
from commands.problems import AdminError
from storage import repo
from storage.models import AuditLog, IndicatorValue, Team
from tests.importing.conftest import sample

SUB_ACCOUNTS = "qianniu_客服绩效_子账号.csv"
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _alias(session: Session, name: str, source: str, alias: str) -> None:
    add_alias(session, team="sample", name=name, source=source, alias=alias, actor="cli", now=NOW)


def _import(session: Session, name: str, mapping: object, data: bytes | None = None):  # type: ignore[no-untyped-def]
    return import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping=mapping,  # type: ignore[arg-type]
        data=data if data is not None else sample(name),
        file_name=name,
        actor="cli",
    )


def _values(session: Session, agent: str) -> dict[str, Decimal | None]:
    team = repo.get_team_by_name(session=session, name="sample")
    assert team is not None
    period = repo.get_period(session=session, team=team, key="2026-10")
    member = repo.get_member_by_name(session=session, team=team, name=agent)
    assert period is not None and member is not None
    return {
        v.indicator: v.value
        for v in repo.indicator_values(session=session, period=period, member=member)
    }


def test_a_file_written_with_sub_accounts_lands_on_the_right_members(
    session: Session, team: Team
) -> None:
    # 小雨 is 王小红's 旺旺 nickname, 阿明 李明's; 张伟's sub-account carries his name
    _alias(session, "王小红", "taobao", "示例旗舰店:小雨")
    _alias(session, "李明", "taobao", "示例旗舰店:阿明")
    report = _import(session, SUB_ACCOUNTS, "qianniu_performance")
    assert report.status == "imported", report.lines("en")
    assert report.agents == 3
    assert _values(session, "王小红")["conversion_rate"] == Decimal("0.25")  # 50 / 200
    assert _values(session, "李明")["conversion_rate"] == Decimal("0.2")  # 30 / 150
    assert _values(session, "李明")["avg_response_s"] == Decimal("25")
    assert _values(session, "张伟")["conversion_rate"] == Decimal("0.3")  # by name, after the colon


def test_without_the_aliases_the_same_file_names_the_unknown_accounts_and_stores_nothing(
    session: Session, team: Team
) -> None:
    report = _import(session, SUB_ACCOUNTS, "qianniu_performance")
    assert report.status == "refused"
    text = "\n".join(report.lines("en"))
    assert (
        "row 2: Unknown agent 小雨. Did you mean 王小红?" in text
    )  # close names suggested, as before
    assert "row 3: Unknown agent 阿明. Did you mean 李明?" in text
    assert session.exec(select(IndicatorValue)).first() is None


def test_an_alias_is_looked_up_before_a_name(session: Session, team: Team) -> None:
    # the shop's sub-account 示例旗舰店:张伟 is in fact used by 王小红 (an account handed over)
    _alias(session, "王小红", "taobao", "示例旗舰店:张伟")
    data = (
        "旺旺昵称,询单人数,询单最终付款人数,询单最终付款金额,首次响应时长（秒),平均响应时长（秒)\n"
        "示例旗舰店:张伟,100,10,1000,5,9\n".encode()
    )
    report = _import(session, "qn.csv", "qianniu_performance", data)
    assert report.status == "imported", report.lines("en")
    assert _values(session, "王小红")["conversion_rate"] == Decimal("0.1")
    assert "conversion_rate" not in _values(session, "张伟")


def test_aliases_of_another_source_are_not_used(session: Session, team: Team) -> None:
    _alias(
        session, "王小红", "jd", "示例旗舰店:小雨"
    )  # a JD account spelled alike is not a 旺旺 account
    _alias(session, "李明", "taobao", "示例旗舰店:阿明")
    report = _import(session, SUB_ACCOUNTS, "qianniu_performance")
    assert report.status == "refused"
    text = "\n".join(
        report.lines("en")
    )  # the team has aliases: the whole account is shown, close names suggested
    assert (
        "row 2: Unknown agent 示例旗舰店:小雨. Did you mean 王小红?" in text and "阿明" not in text
    )


AVAYA = """
name = "my_avaya"
kind = "summary"
source = "avaya"
[columns]
agent = "Login ID"
answered = "ACD Calls"
"""


def test_a_login_id_without_take_after_finds_the_member_loosely(
    session: Session, team: Team
) -> None:
    _alias(session, "王小红", "avaya", "AGT1001")
    _alias(session, "李明", "avaya", "agt1002")
    data = b"Login ID,ACD Calls\nAGT1001,1210\n AGT1002 ,980\n"
    report = _import(session, "cms.csv", parse_mapping(AVAYA), data)
    assert report.status == "imported", report.lines("en")
    assert _values(session, "王小红")["answered"] == Decimal("1210")
    assert _values(session, "李明")["answered"] == Decimal("980")


def test_a_mapping_that_names_no_source_is_its_own_source(session: Session, team: Team) -> None:
    mapping = parse_mapping(AVAYA.replace('source = "avaya"\n', ""))
    assert mapping.source == "my_avaya"


def test_an_account_and_a_name_of_one_member_in_one_file_are_refused(
    session: Session, team: Team
) -> None:
    _alias(session, "王小红", "taobao", "示例旗舰店:小雨")
    data = (
        "旺旺昵称,询单人数,询单最终付款人数,询单最终付款金额,首次响应时长（秒),平均响应时长（秒)\n"
        "示例旗舰店:小雨,100,10,1000,5,9\n示例旗舰店:王小红,50,5,500,5,9\n".encode()
    )
    report = _import(session, "qn.csv", "qianniu_performance", data)
    assert report.status == "refused"
    assert (
        "rows 2, 3: 示例旗舰店:小雨, 示例旗舰店:王小红 are all 王小红 (by name or account)"
        in "\n".join(report.lines("en"))
    )
    assert session.exec(select(IndicatorValue)).first() is None


def test_an_alias_belongs_to_one_member_per_team_and_source(session: Session, team: Team) -> None:
    _alias(session, "王小红", "taobao", "示例旗舰店:小雨")
    with pytest.raises(AdminError) as clash:
        _alias(session, "李明", "taobao", "示例旗舰店:小雨")
    assert clash.value.lines(translator("en")) == [
        "示例旗舰店:小雨 is already 王小红's taobao account: remove it there first "
        "(member alias remove sample 王小红 taobao 示例旗舰店:小雨)."
    ]
    assert clash.value.lines(translator("zh"))[0].startswith(
        "示例旗舰店:小雨已是王小红的 taobao 账号"
    )
    with pytest.raises(AdminError):  # full-width colon and case aside, it is the same account
        _alias(session, "李明", "taobao", "示例旗舰店：小雨")
    _alias(session, "李明", "jd", "示例旗舰店:小雨")  # another source: another account


@pytest.mark.parametrize(("name", "source", "alias", "expected"), [
    ("无名", "taobao", "x", "There is no member 无名 in team sample."),
    ("王小红", "wechat", "x", "Unknown source wechat: use one of "),
    ("王小红", "taobao", "  ", "Give the account as the export writes it"),
    ("王小红", "taobao", "张伟", "张伟 is the name of 张伟, another member of sample"),
    ("王小红", "taobao", "x" * 201, "An alias has at most 200 characters; this one has 201."),
])  # fmt: skip
def test_bad_aliases_get_a_specific_answer_and_change_nothing(
    session: Session, team: Team, name: str, source: str, alias: str, expected: str
) -> None:
    with pytest.raises(AdminError) as refused:
        _alias(session, name, source, alias)
    assert refused.value.lines(translator("en"))[0].startswith(expected)
    assert repo.list_aliases(session=session, team=team) == []


def test_aliases_are_listed_by_name_and_removing_one_is_audited(
    session: Session, team: Team
) -> None:
    _alias(session, "王小红", "taobao", "示例旗舰店:小雨")
    _alias(session, "王小红", "avaya", "AGT1001")
    _alias(session, "李明", "zendesk", "li.ming@example.com")
    lines = alias_lines(session, team="sample", name=None, _=translator("zh"))
    assert lines == [
        "sample 的成员账号：",
        "· 李明 — zendesk (Zendesk 客服邮箱): li.ming@example.com",
        "· 王小红 — avaya (Avaya CMS 登录 ID): AGT1001; taobao (淘宝/天猫 旺旺子账号): "
        "示例旗舰店:小雨",
    ]
    remove_alias(
        session,
        team="sample",
        name="王小红",
        source="taobao",
        alias="示例旗舰店:小雨",
        actor="cli",
        now=NOW,
    )
    assert [a.alias for a in repo.list_aliases(session=session, team=team)] == [
        "AGT1001",
        "li.ming@example.com",
    ]
    actions = [
        a.action
        for a in session.exec(
            select(AuditLog).where(AuditLog.entity == "member_alias").order_by(AuditLog.id)
        )
    ]
    assert actions == [
        "member_alias.add",
        "member_alias.add",
        "member_alias.add",
        "member_alias.remove",
    ]
    with pytest.raises(AdminError) as gone:
        remove_alias(
            session,
            team="sample",
            name="李明",
            source="avaya",
            alias="AGT1001",
            actor="cli",
            now=NOW,
        )
    assert gone.value.lines(translator("en")) == ["李明 has no avaya account AGT1001."]


def test_a_jd_ratings_file_written_with_uids_lands_on_the_members_of_those_accounts(
    session: Session, team: Team
) -> None:
    for name, uid in (("王小红", "jd_wangxh"), ("李明", "jd_liming"), ("张伟", "jd_zhangwei")):
        _alias(session, name, "jd", uid)
    report = _import(session, "jd_ratings_daily.csv", "jd_ratings")
    assert report.status == "imported", report.lines("en")
    wang = _values(session, "王小红")
    assert (wang["good_ratings"], wang["bad_ratings"]) == (
        Decimal(27),
        Decimal(3),
    )  # 18 + 9, 2 + 1 over two days


HELPDESK_ACCOUNTS = [
    # mapping, fixture, the cell of 王小红 and of 李明 as the export writes them, a value by hand
    (
        "zendesk_agents",
        "zendesk_agents.csv",
        ("Wang Xiaohong", "xiaohong.wang@shop.example"),
        ("Li Ming", "ming.li@shop.example"),
        ("one_touch_rate", 48 / 120),
    ),
    (
        "freshdesk_agents",
        "freshdesk_agents.csv",
        ("Wang Xiaohong", "Xiaohong (L2 support)"),
        ("Li Ming", "Ming (L1 support)"),
        ("resolution_rate", 120 / 150),
    ),
    (
        "genesys_agents",
        "genesys_agents.csv",
        ("Wang Xiaohong", '"Wang, Xiaohong"'),  # Genesys writes "Last, First": a quoted cell
        ("Li Ming", '"Li, Ming"'),
        ("aht_s", (18 * 3600 + 20 * 60) / 200),
    ),
]


@pytest.mark.parametrize(("mapping", "fixture", "wang", "li", "by_hand"), HELPDESK_ACCOUNTS)
def test_a_helpdesk_export_written_with_agent_accounts_lands_on_their_members(
    session: Session,
    team: Team,
    mapping: str,
    fixture: str,
    wang: tuple[str, str],
    li: tuple[str, str],
    by_hand: tuple[str, float],
) -> None:
    data = sample(fixture)
    for name, account in (wang, li):
        data = data.replace(f"\n{name},".encode(), f"\n{account},".encode())
    source = mapping.split("_")[0]
    _alias(session, "李明", source, li[1].strip('"'))  # 王小红's account not yet known
    refused = _import(session, fixture, mapping, data)
    assert refused.status == "refused"
    [unknown] = [p for p in refused.problems if p.code == "unknown_agent"]
    assert unknown.params["name"] == wang[1].strip('"')
    _alias(
        session, "王小红", "freshdesk" if source != "freshdesk" else "zendesk", wang[1].strip('"')
    )
    assert _import(session, fixture, mapping, data).status == "refused"  # another source's: unused
    _alias(session, "王小红", source, wang[1].strip('"'))
    report = _import(session, fixture, mapping, data)
    assert report.status == "imported", report.lines("en")
    indicator, expected = by_hand
    assert float(_values(session, "王小红")[indicator]) == pytest.approx(expected, abs=1e-4)
    assert report.agents == 3  # 张伟 still by his name
