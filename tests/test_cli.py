"""The command line as a county IT officer meets it: the README's command table and the parser agree, every
--help is Chinese throughout, and `run-job --dry-run` shows the nags of a real morning."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent


def parser_commands() -> dict:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices


def test_the_readme_command_table_lists_exactly_the_parsers_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Commands"):].split("\n\n")[1]
    listed = set(re.findall(r"^\| `xiaowei ([a-z-]+)", table, re.M))
    assert listed == set(parser_commands())


@pytest.mark.parametrize("argv", [["--help"], *[[name, "--help"] for name in parser_commands()]],
                         ids=lambda a: " ".join(a))
def test_help_is_chinese_throughout(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("用法：") and "显示帮助并退出" in text
    for english in ("usage:", "options:", "positional arguments", "show this help message"):
        assert english not in text


def test_argparse_errors_are_chinese_too(capsys):
    with pytest.raises(SystemExit):
        main(["cases", "--status", "late"])
    err = capsys.readouterr().err
    assert "错误" in err and "无效的选项" in err and "invalid choice" not in err


def test_run_job_dry_run_prints_the_nags_of_the_example_configuration(tmp_path, capsys):
    """`xiaowei run-job nags --dry-run --config config.example.toml --at 2026-12-01T09:30+08:00` on a database
    with a request due that day: the group reminder and the private nag are printed, nothing is recorded."""
    from datetime import datetime
    from bot import cases
    from bot.config import load_config
    from bot.storage import connect
    config_path = tmp_path / "config.example.toml"
    config_path.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    from bot.ledger import signing_key
    cfg = load_config(config_path)
    db = connect(cfg.storage_path, audit_key=signing_key(cfg, create=True))   # only a keyed connection writes facts
    at = datetime.fromisoformat("2026-11-27T10:00+08:00")
    with db.atomic():
        cases.open_case(db, message_id=None, town="翠江镇", village="城南村", kind="help", text="村口路灯坏了",
                        requester="resident-1", chat_id=cfg.village_by_name("城南村").chat_id, received_at=at,
                        due_at=datetime.fromisoformat("2026-12-01T23:59:59+08:00"), now=at)
    assert main(["run-job", "nags", "--dry-run", "--config", str(config_path),
                 "--at", "2026-12-01T09:30+08:00"]) == 0
    out = capsys.readouterr().out
    assert "将发出 2 条消息" in out
    assert "城南村群（1 条）：\n  ▸ 【办理提醒】\n    编号 101（求助）今天到期" in out
    assert "私信 党支部书记张建（1 条）：\n  ▸ 【催办提醒】城南村以下事项请抓紧：" in out
    raw = sqlite3.connect(load_config(config_path).storage_path)
    assert raw.execute("SELECT COUNT(*) FROM nags").fetchone()[0] == 0
    assert raw.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_run_job_never_waits_for_messages_it_does_not_handle(tmp_path):
    """A message still 'new' (a crash, or a busy live server) is the server's to handle: run-job runs its job,
    says what it made, and returns; it used to queue the message for a dispatcher it never ran, and hang."""
    import subprocess
    import sys
    from bot.config import load_config
    from bot.storage import connect
    config_path = tmp_path / "config.toml"
    config_path.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8")
                           .replace('api_base = "https://qyapi.weixin.qq.com"', 'api_base = "http://127.0.0.1:9"'),
                           encoding="utf-8")
    db = connect(load_config(config_path).storage_path)
    with db.atomic():
        db["messages"].insert({"channel": "aibot", "msgid": "m-1", "chattype": "group", "village": "城南村",
                               "sender": "resident-1", "text": "村口路灯坏了", "received_at": "2026-12-01T07:59:00+08:00",
                               "status": "new"})
    done = subprocess.run([sys.executable, "-m", "bot", "run-job", "duty_notice", "--at", "2026-12-01T08:00+08:00",
                           "--config", str(config_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "运行 duty_notice" in done.stdout
    assert db.execute("SELECT status FROM messages").fetchone()[0] == "new"    # left for the server


def test_classify_says_what_the_bot_would_do_with_each_text():
    import io
    import json
    from bot.cli.tools import classify_texts
    lines = "\n".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(
        ["村口那盏路灯坏了一个多星期了，晚上黑乎乎的，麻烦派人来修一下", "村主任把低保名额给了他自己的亲戚", "大家早上好"]))
    out = io.StringIO()
    assert classify_texts([], io.StringIO(lines), out, io.StringIO()) == 0
    routes = [json.loads(line)["route"] for line in out.getvalue().splitlines()]
    assert routes == ["case", "clue", "none"]
