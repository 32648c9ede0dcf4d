"""The README's commands: the demo, check-config, deadline and calendar, run as a user would."""
from __future__ import annotations

import io
import subprocess
import sys

from bot.cli import build_parser, main
from bot.sandbox.demo import run_demo
from handlers import default_handlers
from schedules import JOBS


async def test_demo_prints_a_readable_morning_and_keeps_reports_out_of_the_group():
    out = io.StringIO()
    assert await run_demo(out, handlers=default_handlers(), jobs=JOBS) == 0
    text = out.getvalue()
    for expected in ("【值班公告】12月1日（周二）", "巡群日报·翠江镇", "【正能量】", "编号 101（咨询）已超期2个工作日",
                     "已登记，编号 103", "编号 104 已办结", "已转镇里办理", "已保密转交镇纪委",
                     "问题线索 J2026-001", "编号 103（求助）：办理中", "谢谢您的评价",
                     "【村务公开·公示1】财务收支（财务）", "已发布公示1（财务收支）", "【公示异议 106】城南村·公示1"):
        assert expected in text, expected
    group_lines = [line for line in text.splitlines() if " 小微：" in line]
    assert not any("低保名额" in line for line in group_lines)
    assert "大家早上好" in text and text.count("小微：") >= 8
    assert text.startswith("小微演示：")


def test_every_command_has_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, action in sub.choices.items():
        assert action.description, name


def test_check_config_accepts_the_example_and_names_the_key_of_an_error(tmp_path, capsys):
    assert main(["check-config", "--config", "config.example.toml"]) == 0
    assert "4 个村" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(open("config.example.toml", encoding="utf-8").read().replace('port = 8080', 'port = "八千"'),
                   encoding="utf-8")
    assert main(["check-config", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "server.port" in err and "整数" in err


def test_deadline_contract_through_the_installed_entry_point():
    done = subprocess.run([sys.executable, "-m", "bot", "deadline", "consult", "2026-09-30T10:00+08:00"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout.strip() == ('{"kind": "consult", "received_at": "2026-09-30T10:00:00+08:00", '
                                   '"due_at": "2026-10-09T23:59:59+08:00"}')
    bad = subprocess.run([sys.executable, "-m", "bot", "deadline", "urgent", "2026-09-30"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
