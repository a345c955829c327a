"""Every Chinese text in the catalogues reads as Chinese (issue 17 item 7): no raw English word
beyond what people type (commands, their arguments, ``key=value``, scheme keys) and an allow-list
of product and platform names, no ASCII ``;`` ``,`` ``(`` ``)`` ``:`` against a Chinese character,
and 你 for the people who use kpibot (您 only on the customers' survey page)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted((ROOT / "commands/locale/zh/LC_MESSAGES").glob("*.po"))

CJK = "\u4e00-\u9fff"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
TYPED = re.compile(
    # a command and its arguments
    rf"(?:kpibot|python|/[a-z][\w-]*)(?:[ \t]+[^{CJK}，。；：（）、“”「」\n—]*)?"
    # flags, key=value, [apply], quotes
    r"|--?[a-z][\w-]*|\S*[\w\]]\s?=\s?\S+|\[[a-z_. ]+\]|\"[^\"]*\"|'[^']*'|`[^`]*`"
    r"|https?://\S+|\S+\.(?:md|toml|csv|xlsx|xls|ods|txt|json|db)\b|\.(?:csv|txt|xlsx|xls|ods)\b"
    r"|[A-Z][A-Z0-9_]{1,}(?:_[A-Z0-9]+)*"  # SLACK_BOT_TOKEN, KPI, CSAT, URL, ID
)
PRODUCT_WORDS = {
    "kpibot",
    "Slack",
    "Telegram",
    "Feishu",
    "App",
    "Socket",
    "Mode",
    "Bot",
    "BotFather",
    "Token",
    "Signing",
    "Secret",
    "Basic",
    "Information",
    "Zendesk",
    "Freshdesk",
    "Genesys",
    "Avaya",
    "Cloud",
    "Asia",
    "Shanghai",
    "Europe",
    "London",
    "Ctrl-C",
    "Excel",
    "PostgreSQL",
    "SQLite",
    "Alembic",
    "QR",
    "qianniu",
    "demo",
    "webhook",
    "callback",
    "N/A",
}
TYPED_WORDS = {  # words people type as they are (the names of steps, formats and options)
    "open", "close", "publish", "daily", "remind", "confirm", "hold", "table", "json", "text",
    "auto", "agent", "manager", "admin", "qa", "true", "false", "on", "off", "csv", "xlsx",
    "kpi", "id", "session", "better", "higher", "lower", "precision", "provider", "computed",
    "import", "stars", "bonus", "base", "reward", "penalty", "apply", "agreement",
    "development", "production", "host", "password", "postgresql", "sqlite", "env", "docs",
    "sha", "token", "secrets", "print", "urlsafe", "team", "performance", "xapp-", "xoxb-",
    "counter", "notes", "goal", "return", "list", "undo", "results", "next", "draw", "digest",
    "add", "set", "remove", "restore", "alias", "member", "chat", "check", "scheme", "adjust",
    "calibrate", "dispute", "uphold", "reject", "cli", "md", "https", "db", "upgrade", "en", "zh",
    "qr", "txt", "xls", "ods", "zip", "gt", "ge", "lt", "le",
}  # fmt: skip
ASCII_AGAINST_CHINESE = re.compile(rf"[{CJK}]\s?[;,:()!?]|[;,(]\s*[{CJK}]|[)][{CJK}]")
PUNCTUATION_KEPT = (
    "示例旗舰店:小雨",
    "分:秒",
)  # ASCII on purpose: typed as ``店铺:账号``, a time as 分:秒
CUSTOMER_PAGE = {  # the survey page speaks to a shop's customers: 您
    "How satisfied are you with the service you received?",
    "It takes ten seconds and goes to the agent who helped you.",
    "Your rating",
    "Was your problem solved?",
    "Your comment has {count} characters; please shorten it to {n}.",
    "Thank you for wanting to tell us how we did. Survey links are open for a limited time; if you "
    "still need help, please contact us again.",
    "You have rated this already; sending again replaces your rating.",
    "You have already rated this service",
    "Thank you! Each link can be used once; your first rating stands.",
    "Thank you!",
    "Your rating has been recorded.",
    "Your rating has been recorded. You can change it with the same link until it expires.",
    "Please try again in a few minutes; your link still works.",
}


def _entries() -> list[tuple[str, str, str]]:
    out = []
    for po in CATALOGUES:
        with po.open("rb") as fh:
            for message in read_po(fh, locale="zh"):
                if not message.id or not message.string:
                    continue
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                texts = message.string if isinstance(message.string, tuple) else (message.string,)
                out += [(po.name, ids[0], text) for text in texts if text]
    return out


ENTRIES = _entries()


def english_words(text: str) -> list[str]:
    """The English words a Chinese reader would meet in ``text``, typed syntax and names aside."""
    bare = TYPED.sub(" ", PLACEHOLDER.sub(" ", text))
    return [
        w for w in re.findall(r"[A-Za-z][A-Za-z'-]*", bare.replace("N/A", " "))
        if len(w) > 1 and w not in PRODUCT_WORDS and w not in TYPED_WORDS  # a letter: c, h, s, N
    ]  # fmt: skip


def test_the_catalogues_are_read() -> None:
    assert len(ENTRIES) > 500


def test_no_chinese_text_carries_a_raw_english_word() -> None:
    found = [f"{po}: {msgid!r} -> {text!r}: {words}" for po, msgid, text in ENTRIES
             if (words := english_words(text))]  # fmt: skip
    assert not found, "\n".join(found)


def test_no_chinese_text_has_ascii_punctuation_against_a_chinese_character() -> None:
    def bare(text: str) -> str:
        for kept in PUNCTUATION_KEPT:
            text = text.replace(kept, "")
        return PLACEHOLDER.sub("", text)

    found = [
        f"{po}: {text!r}"
        for po, _msgid, text in ENTRIES
        if ASCII_AGAINST_CHINESE.search(bare(text))
    ]
    assert not found, "\n".join(found)


def test_kpibot_says_ni_to_the_people_who_use_it_and_nin_only_to_customers() -> None:
    found = [
        f"{po}: {msgid!r}"
        for po, msgid, text in ENTRIES
        if "您" in text and msgid not in CUSTOMER_PAGE
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("扣罚 ¥50; 须于 {date} 前提交", []),
        ("请运行：kpibot db upgrade", []),
        ("提醒 remind.1 已发送", []),
        ("你的 results 已 published", ["published"]),
        ("summary 类文件", ["summary"]),
    ],
)
def test_the_check_finds_english_and_lets_typed_syntax_pass(text: str, words: list[str]) -> None:
    assert english_words(text) == words


@pytest.mark.parametrize(
    "text", ["扣罚 ¥50; 须于", "考核期:2026-10", "工作态度 25, 工作任务", "成员 4 人(新增"]
)
def test_the_punctuation_check_finds_ascii_in_a_chinese_sentence(text: str) -> None:
    assert ASCII_AGAINST_CHINESE.search(text)


def test_the_punctuation_check_lets_ascii_between_latin_and_digits_pass() -> None:
    assert not ASCII_AGAINST_CHINESE.search("kpibot import FILE --team demo (max 256 MB); 1,000")


def test_the_change_from_last_period_is_said_in_words_and_money_has_cents() -> None:
    from commands.i18n import translator
    from commands.rank import change_text, money

    zh, en = translator("zh"), translator("en")
    said = [change_text(zh, 2, {"rank": r}, words=True) for r in (2, 5, 1)]
    assert said == ["名次不变", "上升 3 名", "下降 1 名"]
    assert zh("Change from last period: {change}", change=said[0]) == "与上期相比：名次不变"
    assert change_text(en, 2, {"rank": 2}) == "=" and change_text(en, 2, None, words=True) == "new"
    assert money("1000", "CNY") == "¥1,000.00" and money(58278.3, "CNY") == "¥58,278.30"


# -- spaces: one rule (commands.i18n.spaced_format) ----------------------------------------------

LATIN_AGAINST_CHINESE = re.compile(rf"[{CJK}][A-Za-z0-9]|[A-Za-z0-9][{CJK}]")
FIELD = re.compile(r"\{([a-z_]+)\}")


def test_the_catalogues_own_text_spaces_latin_and_digits_from_chinese() -> None:
    """``Slack 账号``, ``共 4 条``, never ``Slack账号`` (placeholders aside: values decide)."""
    found = [f"{po}: {text!r}" for po, _msgid, text in ENTRIES
             if LATIN_AGAINST_CHINESE.search(PLACEHOLDER.sub("…", text))]  # fmt: skip
    assert not found, "\n".join(found)


def _filled(msgid: str, value: str) -> list[tuple[str, str]]:
    """The Chinese text of ``msgid`` with one placeholder at a time filled with ``value`` (the
    others with ``…``, which no rule spaces), beside the text as written; none when a
    placeholder is not a plain name."""
    from commands.i18n import catalog, translator

    template = catalog("zh").gettext(msgid)
    fields = sorted({f[1:-1] for f in PLACEHOLDER.findall(template)})
    if not fields or any(not FIELD.fullmatch("{" + f + "}") for f in fields):
        return []
    _ = translator("zh")
    return [
        (_(msgid, **{f: value if f == one else "…" for f in fields}), template) for one in fields
    ]


@pytest.mark.parametrize(
    ("name", "wrong"),
    [("张伟", rf"[{CJK}] 张伟|张伟 [{CJK}]"), ("Alice", rf"[{CJK}]Alice|Alice[{CJK}]")],
)
def test_every_chinese_text_spaces_a_latin_name_and_sets_a_chinese_one_close(
    name: str, wrong: str
) -> None:
    """Filled with a Chinese name, no space parts it from the Chinese around it (``的张伟``);
    filled with a Latin one, a space does (``的 Alice``): every catalogue text, one rule."""
    found = []
    for _po, msgid, _text in ENTRIES:
        found += [f"{template!r} -> {said!r}" for said, template in _filled(msgid, name)
                  if re.search(wrong, said)]  # fmt: skip
    assert len(ENTRIES) > 500 and not found, "\n".join(found)


@pytest.mark.parametrize(
    ("template", "values", "said"),
    [
        ("团队 {team} 的 {name}", {"team": "demo", "name": "张伟"}, "团队 demo 的张伟"),
        ("团队{team}的{name}", {"team": "london", "name": "Alice"}, "团队 london 的 Alice"),
        ("共 {n} 条，{share}的成员", {"n": 4, "share": "23.5%"}, "共 4 条，23.5% 的成员"),
        ("奖励{amount}，{who}：", {"amount": "¥50.00", "who": "李娜"}, "奖励 ¥50.00，李娜："),
        ("{a} {b}", {"a": "张伟", "b": "李娜"}, "张伟 李娜"),  # two values: as written
        ("总分 {total:.1f} 分", {"total": 87.25}, "总分 87.2 分"),
        ("{{name}} 的 {name}", {"name": "王"}, "{name} 的王"),
    ],
)
def test_the_spacing_rule_looks_at_the_value_beside_the_chinese(
    template: str, values: dict[str, object], said: str
) -> None:
    from commands.i18n import spaced_format

    assert spaced_format(template, values) == said
