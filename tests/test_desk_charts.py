"""The charts: Chinese text renders with the shipped font (no empty boxes), the image fits a robot image message,
and the inspectors' group gets one a day after its digest."""
from __future__ import annotations

import base64
import hashlib
import warnings
from dataclasses import replace
from datetime import date

from matplotlib.ft2font import FT2Font

from bot.desk import charts
from bot.desk.queries import KIND_LABELS, Weekly
from tests.schedule_helpers import open_case, run_at, started

INSPECTORS_ROBOT = "robot-key-inspectors"
CHART_WORDS = "翠江镇近8周诉求每周按类别村按期办结率与满意率其他（）%，" + "".join(KIND_LABELS.values())


def figures(villages: list[str]) -> Weekly:
    weeks = [date(2026, 10, 5 + 7 * i) if i < 4 else date(2026, 11, 2 + 7 * (i - 4)) for i in range(8)]
    return Weekly(weeks, {k: [i % 3 for i in range(8)] for k in KIND_LABELS},
                  {v: [i for i in range(8)] for v in villages}, [0.5] * 8, [None] * 7 + [1.0])


def test_the_shipped_font_has_every_character_the_charts_and_the_sample_villages_use(config):
    names = "".join(v.name for v in config.villages()) + "".join(t.name for t in config.towns)
    cmap = FT2Font(str(charts.font_path())).get_charmap()
    missing = {ch for ch in CHART_WORDS + names + "社区街道乡镇县" if ord(ch) not in cmap}
    assert not missing
    assert (charts.font_path().parent / "LICENSE-wqy-microhei.txt").read_text().count("Apache License") >= 1


def test_a_chart_draws_no_empty_box_and_fits_a_robot_image(config):
    villages = [v.name for v in config.villages()]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.render("翠江镇·近8周诉求", figures(villages))
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert png.startswith(b"\x89PNG") and len(png) <= charts.IMAGE_LIMIT


def test_the_check_above_would_catch_a_font_without_chinese():
    """matplotlib's default font has no 汉字: drawn with it, the same warning the test above looks for appears."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure()
    FigureCanvasAgg(fig)
    fig.suptitle("每周诉求")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    assert [w for w in caught if "missing from font" in str(w.message)]


async def test_the_inspectors_group_gets_one_chart_a_day_with_its_digest(config, clock, standin):
    config = replace(config, towns=(replace(config.towns[0], inspector_webhook_key=INSPECTORS_ROBOT),))
    bot = await started(config, clock)
    open_case(bot, received="2026-11-30T09:00+08:00", kind="consult")
    await run_at(bot, clock, "digest", "2026-12-01T08:00+08:00")
    await bot.jobs.run("digest")            # a second run the same morning sends nothing again
    await bot.settle()
    sent = standin.robot_messages[INSPECTORS_ROBOT]
    assert [m["msgtype"] for m in sent] == ["markdown", "image"]
    picture = base64.b64decode(sent[1]["image"]["base64"])
    assert picture.startswith(b"\x89PNG") and len(picture) <= 2 * 1024 * 1024
    assert hashlib.md5(picture).hexdigest() == sent[1]["image"]["md5"]
    assert [r.errcode for r in standin.requests if r.endpoint == "webhook" and r.target == INSPECTORS_ROBOT] == [0, 0]
    await bot.stop()


async def test_the_stand_in_refuses_an_image_over_2_mb_or_with_a_wrong_md5(standin):
    import aiohttp
    big = b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024)
    async with aiohttp.ClientSession() as http:
        for picture, md5 in ((big, hashlib.md5(big).hexdigest()), (big[:100], "0" * 32)):
            body = {"msgtype": "image", "image": {"base64": base64.b64encode(picture).decode(), "md5": md5}}
            async with http.post(standin.webhook_url("k"), json=body) as resp:
                assert (await resp.json())["errcode"] in (40009, 40008)
    assert not standin.robot_messages.get("k")
