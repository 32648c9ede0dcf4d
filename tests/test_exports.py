"""Excel exports read back with openpyxl: Chinese headers, real date cells with a number format, the filters,
the clue ledger one row per clue with its history; and `xiaowei export` and `xiaowei clues` on a real file."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from bot import exports
from bot.cli import main
from tests.test_cases import LAMP, say
from tests.test_clue_ledger import REPORT, inspector

ROOT = Path(__file__).resolve().parent.parent


def read(book_or_path, sheet: str | None = None):
    book = load_workbook(book_or_path)
    ws = book[sheet] if sheet else book.active
    header = [c.value for c in ws[1]]
    return header, [dict(zip(header, row)) for row in ws.iter_rows(min_row=2)]


async def test_cases_export_has_date_cells_and_keeps_to_its_filters(service, standin, clock, tmp_path):
    await say(service, standin, LAMP)                                                    # 101, 城南村
    await say(service, standin, REPORT)                                                  # a clue: never here
    await say(service, standin, "办结 101 电工已换好灯泡", userid="cn-li")
    clock.set("2026-12-02T10:00:00+08:00")
    await say(service, standin, "村里的垃圾桶满了好几天没人收", chatid="wrkSFfCgAAcnshuanghong")   # 双虹村
    now = clock.now()
    book = service.bot.store.read_sync(lambda db: exports.cases_workbook(db, service.bot.config, now))
    path = exports.save(book, tmp_path / "诉求.xlsx")
    header, rows = read(path)
    assert header[:8] == ["编号", "镇（街道）", "村（社区）", "类型", "状态", "办理层级", "收到时间", "办理期限"]
    assert [r["编号"].value for r in rows] == [101, 102]
    first = rows[0]
    assert first["收到时间"].value == datetime(2026, 12, 1, 9, 0) and first["收到时间"].is_date
    assert first["收到时间"].number_format == "yyyy-mm-dd hh:mm"
    assert first["办理期限"].value == datetime(2026, 12, 4, 23, 59, 59)
    assert (first["状态"].value, first["是否超期"].value) == ("已办结", "否")
    assert all("举报" not in str(c.value) and "亲戚" not in str(c.value) for r in rows for c in r.values())
    only = service.bot.store.read_sync(lambda db: exports.cases_workbook(db, service.bot.config, now,
                                                                         village="双虹村", statuses=("open",)))
    assert [r["村（社区）"].value for r in read(_saved(only, tmp_path))[1]] == ["双虹村"]
    november = service.bot.store.read_sync(lambda db: exports.cases_workbook(db, service.bot.config, now,
                                                                             month="2026-11"))
    assert read(_saved(november, tmp_path))[1] == []


def _saved(book, tmp_path: Path) -> Path:
    return exports.save(book, tmp_path / "x.xlsx")


async def test_the_clue_ledger_export_has_one_row_per_clue_with_its_history(service, standin, clock, tmp_path):
    await say(service, standin, REPORT)
    clock.set("2026-12-02T15:30:00+08:00")
    for step in ("受理", "初步核实 调取修路账目", "办结 不属实 澄清 李明 账目清楚"):
        await inspector(service, standin, f"线索 J2026-001 {step}")
    book = service.bot.store.read_sync(lambda db: exports.clues_workbook(db, service.bot.config, clock.now()))
    path = exports.save(book, tmp_path / "线索台账.xlsx")
    header, [row] = read(path, "线索台账")
    assert header[:7] == ["线索编号", "镇（街道）", "来源村（社区）", "收到时间", "当前环节", "处置方式", "结论"]
    assert (row["线索编号"].value, row["当前环节"].value, row["处置方式"].value, row["结论"].value,
            row["澄清正名"].value) == ("J2026-001", "办结", "初步核实", "不属实", "村委会主任李明")
    assert row["收到时间"].value == datetime(2026, 12, 1, 9, 0) and row["收到时间"].is_date
    assert row["办结时间"].value == datetime(2026, 12, 2, 15, 30)
    assert "2026-12-02 15:30 初步核实（镇纪委书记胡纪）：调取修路账目" in row["处置经过"].value
    assert "resident-1" not in row["处置经过"].value                            # the reporter is never named
    _, steps = read(path, "处置记录")
    assert [s["环节"].value for s in steps] == ["收到", "移送纪委", "受理", "初步核实", "办结"]
    assert steps[2]["时间"].number_format == "yyyy-mm-dd hh:mm"


def _example(tmp_path: Path):
    from bot.config import load_config
    from bot.ledger import signing_key
    from bot.storage import connect
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = load_config(path)
    return path, connect(cfg.storage_path, audit_key=signing_key(cfg, create=True))


def test_export_and_clues_from_the_command_line(tmp_path, capsys):
    from bot import cases
    config, db = _example(tmp_path)
    at = datetime.fromisoformat("2026-11-27T10:00+08:00")
    with db.atomic():
        for kind, text in (("help", "村口路灯坏了"), ("report", "村会计挪用修路款")):
            cases.open_case(db, message_id=None, town="翠江镇", village="城南村", kind=kind, text=text,
                            requester="resident-1", chat_id=None, received_at=at,
                            due_at=datetime.fromisoformat("2026-12-01T23:59:59+08:00"), now=at)
    for what in ("cases", "clues", "assessment"):
        out = tmp_path / f"{what}.xlsx"
        assert main(["export", what, "--config", str(config), "--month", "2026-11", "--out", str(out)]) == 0
        assert f"已导出到 {out}" in capsys.readouterr().out
    assert [r["编号"].value for r in read(tmp_path / "cases.xlsx")[1]] == [101]
    assert [r["线索编号"].value for r in read(tmp_path / "clues.xlsx")[1]] == ["J2026-001"]
    village = next(r for r in read(tmp_path / "assessment.xlsx")[1] if r["村（社区）"].value == "城南村")
    assert (village["月份"].value, village["受理诉求数"].value) == ("2026-11", 1)
    assert main(["clues", "--config", str(config), "--town", "翠江镇"]) == 0
    listed = capsys.readouterr().out
    assert "J2026-001｜翠江镇·城南村｜2026-11-27｜待受理" in listed and "共 1 条" in listed
    assert main(["export", "cases", "--config", str(config), "--town", "石壁镇", "--out", str(out)]) == 2
    assert "配置中没有“石壁镇”" in capsys.readouterr().err


def test_trends_from_the_command_line(tmp_path, capsys):
    from bot import cases
    config, db = _example(tmp_path)
    with db.atomic():
        for village, day, text in (("城南村", "2026-11-16", "村口的路灯坏了"), ("双虹村", "2026-11-24", "我们组的路灯坏了好几天")):
            at = datetime.fromisoformat(f"{day}T10:00+08:00")
            cases.open_case(db, message_id=None, town="翠江镇", village=village, kind="help", text=text,
                            requester="resident-1", chat_id=None, received_at=at,
                            due_at=datetime.fromisoformat(f"{day}T23:59:59+08:00"), now=at)
    assert main(["trends", "--config", str(config), "--weeks", "520"]) == 0
    out = capsys.readouterr().out
    assert "  路灯：2 件，2 个村（双虹村、城南村），2 周；编号 101、102" in out
    assert "入户走访名单：" in out
