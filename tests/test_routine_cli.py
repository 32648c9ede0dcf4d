"""The routine's commands as a clerk runs them: roster import with errors a clerk can fix, news add, jobs,
run-job (and its dry run)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.cli import main
from bot.cli.routine import job_lines
from bot.clock import TZ
from bot.config import load_config
from bot.storage import connect
from bot.workdays import WorkCalendar
from schedules import JOBS

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
HEADER = "类型,村（社区）,日期,值班干部\n"


def setup(tmp_path, replace_text: tuple[str, str] | None = None):
    """A config file of the example's in tmp_path; its database is tmp_path/var/xiaowei.db."""
    text = EXAMPLE.read_text(encoding="utf-8")
    if replace_text:
        text = text.replace(*replace_text)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    return config, connect(config.storage_path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def import_text(config, capsys, tmp_path, text: str, encoding: str = "utf-8") -> tuple[int, str, str]:
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return run(capsys, "roster", "import", str(path), "--config", str(config.path))


def test_the_example_roster_imports_and_says_what_it_did(tmp_path, capsys):
    config, db = setup(tmp_path)
    code, out, _ = import_text(config, capsys, tmp_path,
                               (EXAMPLE.parent / "data/roster.example.csv").read_text("utf-8"))
    assert code == 0
    assert "城南村：排班 1 天（2026-12-05）；轮值 李明→陈芳→张建，从 2026-11-30 起每 3 天一轮" in out
    assert db.execute("SELECT COUNT(*) FROM duty_rotation").fetchone()[0] == 7
    assert [r[0] for r in db.execute("SELECT userid FROM duty_roster WHERE day = '2026-12-05'")] == ["cn-li", "cn-chen"]


def test_every_error_names_line_and_column_and_nothing_is_saved(tmp_path, capsys):
    config, db = setup(tmp_path)
    code, _, err = import_text(config, capsys, tmp_path, HEADER + (
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


def test_excel_gbk_csv_and_a_missing_column(tmp_path, capsys):
    config, db = setup(tmp_path)
    code, out, _ = import_text(config, capsys, tmp_path, "村,日期,值班人\n城南村,2026/12/1,陈芳\n", encoding="gbk")
    assert code == 0 and "城南村：排班 1 天（2026-12-01）" in out
    code, _, err = import_text(config, capsys, tmp_path, "村,值班人\n城南村,陈芳\n")
    assert code == 1 and "第 1 行（表头）：缺少“日期”列" in err


def test_news_add_by_title_and_by_file_without_duplicates(tmp_path, capsys):
    config, db = setup(tmp_path)
    where = ("--config", str(config.path))
    code, out, _ = run(capsys, "news", "add", "--title", "村里通了公交", "--body", "从下周一起，城南村每天有四班公交到县城。",
                       *where)
    assert (code, out) == (0, "已加入正能量信息库 1 条。\n")
    path = tmp_path / "more.jsonl"
    path.write_text('{"title": "村里通了公交", "body": "从下周一起，城南村每天有四班公交到县城。"}\n'
                    '{"title": "义诊进村", "body": "本周六镇卫生院到双虹村义诊。", "source": "镇卫生院"}\n', "utf-8")
    code, out, _ = run(capsys, "news", "add", str(path), *where)
    assert (code, out) == (0, "已加入正能量信息库 1 条（1 条已存在，未重复加入）。\n")
    path.write_text('{"title": "没有正文"}\n', "utf-8")
    code, _, err = run(capsys, "news", "add", str(path), *where)
    assert code == 1 and "more.jsonl 第 1 行：标题和正文都不能为空" in err


def test_jobs_lists_each_job_and_its_next_run_skipping_holidays_for_nags(tmp_path):
    config, db = setup(tmp_path)
    lines = job_lines(config, JOBS, datetime(2026, 10, 2, 10, tzinfo=TZ), db, WorkCalendar())
    assert lines[0].split() == ["duty_notice", "值班公告", "每天", "08:00", "下次", "2026-10-03", "08:00", "今天尚未运行"]
    [nags] = [line for line in lines if line.startswith("nags ")]
    assert nags.split()[5:7] == ["2026-10-08", "09:30"]


def test_run_job_runs_as_of_the_given_time_and_only_once(tmp_path, capsys):
    # No WeCom reachable: the rows stay queued for the server, and the run is still recorded once.
    config, db = setup(tmp_path, ('api_base = "https://qyapi.weixin.qq.com"', 'api_base = "http://127.0.0.1:9"'))
    db.execute("INSERT INTO duty_roster (village, day, userid) VALUES ('城南村', '2026-12-01', 'cn-li')")
    db.conn.commit()
    where = ("--config", str(config.path))
    code, out, _ = run(capsys, "run-job", "duty-notice", "--at", "2026-12-01T08:00+08:00", *where)
    assert code == 0
    assert out.startswith("按 2026-12-01 08:00 运行 duty_notice：新增 4 条消息。")
    assert "城南村群（1 条）：\n  ▸ 【值班公告】12月1日（周二）" in out and "私信 党支部书记黄海（1 条）" in out
    assert "4 条待发" in out
    code, out, _ = run(capsys, "run-job", "duty_notice", "--at", "2026-12-01T08:30+08:00", *where)
    assert code == 0 and "新增 0 条消息" in out
    code, _, err = run(capsys, "run-job", "weekly", *where)
    assert code == 2 and "没有名为 weekly 的任务" in err


def test_run_job_dry_run_prints_every_message_and_sends_nothing(tmp_path, capsys):
    config, db = setup(tmp_path)
    db.execute("INSERT INTO duty_roster (village, day, userid) VALUES ('城南村', '2026-12-01', 'cn-li')")
    db.conn.commit()
    code, out, _ = run(capsys, "run-job", "duty_notice", "--dry-run", "--at", "2026-12-01T08:00+08:00",
                       "--config", str(config.path))
    assert code == 0 and "将发出 4 条消息" in out and "城南村群（1 条）" in out and "@李明" in out
    assert db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert db.execute("SELECT COUNT(*) FROM job_runs").fetchone()[0] == 0
    code, again, _ = run(capsys, "run-job", "duty_notice", "--dry-run", "--at", "2026-12-01T08:00+08:00",
                         "--config", str(config.path))
    assert again == out                                        # nothing was recorded: the rehearsal repeats
