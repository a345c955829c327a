"""One rule for a list in a sentence (commands.i18n.joined): Chinese enumerates with the
enumeration comma 、, English with a comma and a space; a translator fills a list or tuple
value that way, so no message joins its names itself."""

from __future__ import annotations

import pytest

from commands.i18n import joined, translator


@pytest.mark.parametrize(
    ("lang", "items", "written"),
    [
        ("zh", ["李娜", "张伟", "刘洋"], "李娜、张伟、刘洋"),
        ("en", ["Alice", "Bob", "Carol"], "Alice, Bob, Carol"),
        ("zh", ["李娜"], "李娜"),
        ("en", [], ""),
    ],
)
def test_a_list_is_written_as_its_language_enumerates(
    lang: str, items: list[str], written: str
) -> None:
    assert joined(items, lang) == written


@pytest.mark.parametrize(
    ("lang", "written"),
    [
        ("zh", "已离职（历史记录保留）：李娜、Alice"),
        ("en", "Left (history kept): 李娜, Alice"),
    ],
)
def test_a_translator_fills_a_list_value_as_the_language_lists(lang: str, written: str) -> None:
    _ = translator(lang)
    assert _("Left (history kept): {names}", names=["李娜", "Alice"]) == written
    assert _("Left (history kept): {names}", names=("李娜", "Alice")) == written


def test_a_string_value_is_filled_as_it_is() -> None:
    assert translator("en")("Left (history kept): {names}", names="a, b") == (
        "Left (history kept): a, b"
    )
