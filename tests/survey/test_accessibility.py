"""The survey page is usable with a screen reader, a keyboard and weak eyes (WCAG AA contrast)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from starlette.testclient import TestClient

from bot.survey_page import STATIC_CSS
from tests.survey.conftest import World


class Inventory(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.legends = 0
        self.fieldsets = 0
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag in ("input", "textarea", "select") and a.get("type") != "hidden":
            self.inputs.append(a)
        if tag == "label" and a.get("for"):
            self.label_for.add(str(a["for"]))
        self.legends += tag == "legend"
        self.fieldsets += tag == "fieldset"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_control_has_a_label_and_every_group_a_legend(
    client: TestClient, world: World, lang: str
) -> None:
    page = Inventory()
    page.feed(client.get(f"/s/{world.token()}?lang={lang}").text)
    assert page.html_lang == ("zh-CN" if lang == "zh" else "en")
    assert len(page.inputs) == 8  # five ratings, yes, no, the comment
    assert all(i.get("id") in page.label_for for i in page.inputs)
    assert page.fieldsets == page.legends == 2


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _prop(css: str, selector: str, prop: str) -> str:
    for rule in re.finditer(r"([^{}]+)\{([^}]*)\}", css):
        selectors = [s.strip() for s in rule.group(1).split(",")]
        if selector in selectors:
            found = re.search(rf"(?:^|;){re.escape(prop)}:(#[0-9a-fA-F]{{6}})", rule.group(2))
            if found:
                return found.group(1)
    raise AssertionError(f"{selector} has no {prop}")


def _expand(css: str) -> str:
    return re.sub(r"#([0-9a-fA-F])([0-9a-fA-F])([0-9a-fA-F])\b", r"#\1\1\2\2\3\3", css)


@pytest.mark.parametrize(
    ("what", "fg", "bg"),
    [
        ("body text", ("body", "color"), ("body", "background")),
        ("text on the card", ("body", "color"), (".card", "background")),
        ("muted text", (".muted", "color"), (".card", "background")),
        ("hints", (".hint", "color"), (".card", "background")),
        ("language links", (".top a", "color"), ("body", "background")),
        ("the button", ("button", "color"), ("button", "background")),
        ("error messages", (".error", "color"), (".error", "background")),
        (
            "a chosen rating's number",
            (".opt input:checked+label .n", "color"),
            (".opt input:checked+label .n", "background"),
        ),
    ],
)
def test_text_contrast_meets_wcag_aa(what: str, fg: tuple[str, str], bg: tuple[str, str]) -> None:
    css = _expand(STATIC_CSS.read_text(encoding="utf-8"))
    ratio = _contrast(_prop(css, *fg), _prop(css, *bg))
    assert ratio >= 4.5, f"{what}: contrast {ratio:.2f} < 4.5"


def test_focus_is_always_visible() -> None:
    css = STATIC_CSS.read_text(encoding="utf-8")
    assert ".opt input:focus-visible+label{outline:3px" in css
    assert "button:focus-visible" in css and "textarea:focus-visible" in css
    assert "outline:none" not in css and "outline:0" not in css
