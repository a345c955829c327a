"""Charts as PNG bytes, rendered without a display (matplotlib's Agg backend).

Chinese names need a CJK font. :func:`cjk_font` looks for one that matplotlib
knows, then asks fontconfig (``fc-list :lang=zh``); Debian's ``fonts-wqy-zenhei``
(or ``fonts-noto-cjk``) provides one. Without any, charts still render with the
default font (Chinese glyphs show as boxes) and a warning is logged once.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from commands import numbers

log = logging.getLogger(__name__)

PREFERRED_CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
)

REWARD_COLOUR = "#2e7d32"
PENALTY_COLOUR = "#c62828"
PLAIN_COLOUR = "#5c6bc0"
HIGHLIGHT_EDGE = "#ff8f00"


@dataclass(frozen=True)
class Bar:
    """One agent's bar: the label (a name), the total, and how to colour it."""

    label: str
    value: float
    reward: bool = False
    penalty: bool = False
    highlight: bool = False


def _matplotlib() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    return matplotlib


def _fontconfig_cjk_files() -> list[str]:
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The file of a font with Chinese glyphs, or None (a warning is logged)."""
    _matplotlib()
    from matplotlib import font_manager

    known = {f.name: f.fname for f in font_manager.fontManager.ttflist}
    for family in PREFERRED_CJK_FAMILIES:
        if family in known:
            return str(known[family])
    for path in _fontconfig_cjk_files():
        try:
            font_manager.FontProperties(fname=path).get_name()
            return path
        except (OSError, RuntimeError, ValueError):
            continue
    log.warning(
        "no CJK font found: Chinese names in charts will not render "
        "(install the Debian package fonts-wqy-zenhei or fonts-noto-cjk)"
    )
    return None


def _canvas(width: float, height: float) -> tuple[Any, Any, Any]:
    """A display-less figure, its axes and the font that shows Chinese names."""
    _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    path = cjk_font()
    font = FontProperties(fname=path) if path else FontProperties(family="DejaVu Sans")
    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.add_subplot(), font


def _png(fig: Any, ax: Any, font: Any, title: str) -> bytes:
    """Title, no top/right frame, tight layout; the figure as PNG bytes."""
    ax.set_title(title, fontproperties=font)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def ranking_chart(bars: Sequence[Bar], *, title: str, xlabel: str, precision: int) -> bytes:
    """A horizontal bar chart of totals, best at the top, each labelled at the scheme's
    ``precision`` (:func:`commands.numbers.total`); PNG bytes.

    Drawn once per content: the same bars, title and label give the stored PNG (a chart is
    most of a ranking's time; the same ranking asked again, by the manager or a teammate,
    is not drawn again)."""
    return _ranking_chart(tuple(bars), title, xlabel, precision)


@lru_cache(maxsize=32)
def _ranking_chart(bars: tuple[Bar, ...], title: str, xlabel: str, precision: int) -> bytes:
    fig, ax, font = _canvas(7.0, max(2.5, 0.45 * len(bars) + 1.4))
    ordered = list(reversed(bars))
    colours = [
        REWARD_COLOUR if b.reward else PENALTY_COLOUR if b.penalty else PLAIN_COLOUR
        for b in ordered
    ]
    positions = list(range(len(ordered)))
    rects = ax.barh(positions, [b.value for b in ordered], color=colours)
    for rect, bar in zip(rects, ordered, strict=True):
        if bar.highlight:
            rect.set_edgecolor(HIGHLIGHT_EDGE)
            rect.set_linewidth(2.5)
        ax.annotate(
            numbers.total(bar.value, precision),
            xy=(rect.get_width(), rect.get_y() + rect.get_height() / 2),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )
    ax.set_yticks(positions, [b.label for b in ordered], fontproperties=font)
    ax.set_xlim(0, 105)
    ax.set_xlabel(xlabel, fontproperties=font)
    return _png(fig, ax, font, title)


def history_chart(
    labels: Sequence[str],
    totals: Sequence[float | None],
    *,
    precisions: Sequence[int],
    title: str,
    ylabel: str,
) -> bytes:
    """A small line chart of totals by period (gaps where there was no score), each total
    labelled at the precision of the scheme that scored its period; PNG bytes."""
    fig, ax, font = _canvas(5.0, 2.6)
    xs = list(range(len(labels)))
    ys = [float("nan") if t is None else t for t in totals]
    ax.plot(xs, ys, marker="o", color=PLAIN_COLOUR)
    for x, y, places in zip(xs, totals, precisions, strict=True):
        if y is not None:
            ax.annotate(
                numbers.total(y, places),
                xy=(x, y),
                xytext=(0, 5),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
    ax.set_xticks(xs, list(labels), fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel(ylabel, fontproperties=font)
    return _png(fig, ax, font, title)
