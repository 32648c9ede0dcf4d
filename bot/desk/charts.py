"""The desk's charts and the digest's daily image: requests by kind and by village over the weeks, and the on-time
and satisfaction rates. PNG through matplotlib's object API (no pyplot state: safe on worker threads), with the
Chinese font shipped in bot/fonts so no glyph is an empty box."""
from __future__ import annotations

import io
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from bot.desk.queries import KIND_LABELS, Weekly

IMAGE_LIMIT = 2 * 1024 * 1024     # a group robot's image message: at most 2 MB before base64
MAX_VILLAGES = 8                  # lines in the by-village panel; the rest are summed as 其他

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

# matplotlib is imported where a chart is drawn, not here: every command and the service's start import the
# digest (and through it this module), and matplotlib alone costs them about 0.3 s.


def font_path() -> Path:
    return Path(str(files("bot") / "fonts" / "wqy-microhei.ttc"))


@lru_cache(maxsize=1)
def font() -> FontProperties:
    from matplotlib.font_manager import FontProperties
    return FontProperties(fname=str(font_path()))


def render(title: str, data: Weekly, *, dpi: int = 110) -> bytes:
    """One PNG of three panels; shrinks until it fits a robot image message."""
    while True:
        png = _draw(title, data, dpi)
        if len(png) <= IMAGE_LIMIT or dpi <= 40:
            return png
        dpi = int(dpi * 0.7)


def _draw(title: str, data: Weekly, dpi: int) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fp = font()
    labels = [f"{d.month}/{d.day}" for d in data.weeks]
    x = list(range(len(labels)))
    fig = Figure(figsize=(7.2, 9), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontproperties=fp, fontsize=15)
    kinds, villages, rates = fig.subplots(3, 1)

    bottom = [0] * len(x)
    for kind, counts in data.by_kind.items():
        kinds.bar(x, counts, bottom=bottom, label=KIND_LABELS[kind])
        bottom = [b + c for b, c in zip(bottom, counts)]
    kinds.set_ylim(0, max(bottom, default=0) * 1.4 + 1)    # room for the legend above the bars
    kinds.set_title("每周诉求（按类别）", fontproperties=fp)

    ranked = sorted(data.by_village.items(), key=lambda kv: -sum(kv[1]))
    shown, rest = ranked[:MAX_VILLAGES], ranked[MAX_VILLAGES:]
    for name, counts in shown:
        villages.plot(x, counts, marker="o", label=name)
    if rest:
        villages.plot(x, [sum(col) for col in zip(*(c for _, c in rest))], linestyle="--", label="其他")
    villages.set_title("每周诉求（按村）", fontproperties=fp)

    for series, label in ((data.on_time, "按期办结率"), (data.satisfied, "满意率")):
        points = [(i, v * 100) for i, v in enumerate(series) if v is not None]
        if points:
            rates.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    rates.set_ylim(0, 105)
    rates.set_title("按期办结率与满意率（%，按办结周）", fontproperties=fp)

    for ax in (kinds, villages, rates):
        ax.set_xticks(x, labels)
        ax.grid(axis="y", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(prop=fp, fontsize=8, loc="upper left", ncols=4)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()
