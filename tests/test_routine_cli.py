"""The routine's command bodies: roster import with errors a clerk can fix, news add, jobs, run-job."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bot.clock import TZ
from bot.config import load_config
from bot.storage import connect
from bot.workdays import WorkCalendar
from schedules.cli import jobs_main, news_add_main, roster_import_main, run_job_main

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
HEADER = "类型,村（社区）,日期,值班干部\n"


def setup(tmp_path):
    config = replace(load_config(EXAMPLE), storage_path=tmp_path / "x.db")
    return config, connect(config.storage_path)


def import_text(config, db, tmp_path, text: str, encoding: str = "utf-8") -> tuple[int, str, str]:
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    out, err = io.StringIO(), io.StringIO()
    return roster_import_main(config, db, str(path), out, err), out.getvalue(), err.getvalue()


def test_the_example_roster_imports_and_says_what_it_did(tmp_path):
    config, db = setup(tmp_path)
    code, out, _ = import_text(config, db, tmp_path, (EXAMPLE.parent / "data/roster.example.csv").read_text("utf-8"))
    assert code == 0
    assert "城南村：排班 1 天（2026-12-05）；轮值 李明→陈芳→张建，从 2026-11-30 起每 3 天一轮" in out
    assert db.execute("SELECT COUNT(*) FROM duty_rotation").fetchone()[0] == 7
    assert [r[0] for r in db.execute("SELECT userid FROM duty_roster WHERE day = '2026-12-05'")] == ["cn-li", "cn-chen"]


def test_every_error_names_line_and_column_and_nothing_is_saved(tmp_path):
    config, db = setup(tmp_path)
    code, _, err = import_text(config, db, tmp_path, HEADER + (
        "排班,城南村,2026-12-01,李明\n"
        "排班,城北村,2026-12-01,李明\n"
        "排班,城南村,12月1日,李明\n"
        "排班,双虹村,2026-12-01,王五\n"
        "换班,双虹村,2026-12-01,邱兰\n"
        "轮值,高峰村,2026-12-01,雷华\n"
        "轮值,高峰村,2026-12-03,谢英\n"
        "轮值,南大街社区,2026-12-01,王荣、郑伟\n"))
    assert code == 1
    assert "值班表有 6 处错误，未导入任何内容" in err
    for expected in ("第 3 行 B 列（村（社区））：没有“城北村”", "第 4 行 C 列（日期）：“12月1日”不是日期",
                     "第 5 行 D 列（值班干部）：双虹村没有叫“王五”的干部", "第 6 行 A 列（类型）：“换班”看不懂",
                     "第 8 行：高峰村的轮值日期 2026-12-03 与前一个日期 2026-12-01 不连续",
                     "第 9 行 D 列（值班干部）：轮值每天只能填一名干部"):
        assert expected in err
    assert err.index("第 8 行") < err.index("第 9 行")                      # in file order
    assert db.execute("SELECT COUNT(*) FROM duty_roster").fetchone()[0] == 0


def test_excel_gbk_csv_and_a_missing_column(tmp_path):
    config, db = setup(tmp_path)
    code, out, _ = import_text(config, db, tmp_path, "村,日期,值班人\n城南村,2026/12/1,陈芳\n", encoding="gbk")
    assert code == 0 and "城南村：排班 1 天（2026-12-01）" in out
    code, _, err = import_text(config, db, tmp_path, "村,值班人\n城南村,陈芳\n")
    assert code == 1 and "第 1 行（表头）：缺少“日期”列" in err


def test_news_add_by_title_and_by_file_without_duplicates(tmp_path):
    config, db = setup(tmp_path)
    now = datetime(2026, 12, 1, 10, tzinfo=TZ)
    out, err = io.StringIO(), io.StringIO()
    assert news_add_main(db, now, out, err, title="村里通了公交", body="从下周一起，城南村每天有四班公交到县城。") == 0
    assert out.getvalue() == "已加入正能量信息库 1 条。\n"
    path = tmp_path / "more.jsonl"
    path.write_text('{"title": "村里通了公交", "body": "从下周一起，城南村每天有四班公交到县城。"}\n'
                    '{"title": "义诊进村", "body": "本周六镇卫生院到双虹村义诊。", "source": "镇卫生院"}\n', "utf-8")
    out = io.StringIO()
    assert news_add_main(db, now, out, err, file=str(path)) == 0
    assert out.getvalue() == "已加入正能量信息库 1 条（1 条已存在，未重复加入）。\n"
    path.write_text('{"title": "没有正文"}\n', "utf-8")
    assert news_add_main(db, now, io.StringIO(), err, file=str(path)) == 1
    assert "more.jsonl 第 1 行：标题和正文都不能为空" in err.getvalue()


def test_jobs_lists_each_job_and_its_next_run_skipping_holidays_for_nags(tmp_path):
    config, db = setup(tmp_path)
    out = io.StringIO()
    assert jobs_main(config, datetime(2026, 10, 2, 10, tzinfo=TZ), out, db, WorkCalendar()) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["duty_notice", "值班公告", "每天", "08:00", "下次", "2026-10-03", "08:00", "今天尚未运行"]
    assert lines[2].split()[5:7] == ["2026-10-08", "09:30"]


def test_run_job_runs_as_of_the_given_time_and_only_once(tmp_path):
    config, db = setup(tmp_path)
    db.execute("INSERT INTO duty_roster (village, day, userid) VALUES ('城南村', '2026-12-01', 'cn-li')")
    db.conn.commit()
    # No WeCom reachable: the rows stay queued for the server, and the run is still recorded once.
    config = replace(config, wecom=replace(config.wecom, api_base="http://127.0.0.1:9"))
    out, err = io.StringIO(), io.StringIO()
    assert run_job_main(config, "duty-notice", "2026-12-01T08:00+08:00", out, err) == 0
    assert out.getvalue().startswith("已按 2026-12-01 08:00 运行 duty_notice：新增 4 条消息，4 条待发")
    assert run_job_main(config, "duty_notice", "2026-12-01T08:30+08:00", out := io.StringIO(), err) == 0
    assert "新增 0 条消息" in out.getvalue()
    assert run_job_main(config, "weekly", None, io.StringIO(), err) == 2
    assert "没有名为 weekly 的任务" in err.getvalue()
