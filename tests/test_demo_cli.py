"""The README's commands: the demo, check-config, deadline and calendar, run as a user would."""
from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from bot.cli import build_parser, main
from bot.clock import ManualClock
from bot.desk import tokens
from bot.sandbox.config import SANDBOX_DESK_SECRET
from bot.sandbox.demo import run_demo
from bot.sandbox.demo_groups import run_group_demo
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
    # It ends with the desk's address and a signed link for the town's inspector.
    desk = re.search(r"工作台：(http://127\.0\.0\.1:\d+)/desk\n", text)
    token = re.search(rf"镇纪委胡纪的登录链接：{re.escape(desk[1])}/desk/link\?t=(\S+)\n", text)[1]
    assert tokens.verify(SANDBOX_DESK_SECRET, "link", token, ManualClock("2026-12-01T10:30:00+08:00").now()) == "zjw-hu"


async def test_the_customer_group_demo_hears_the_archive_waits_for_the_owner_and_sees_the_draft_pasted():
    out = io.StringIO()
    assert await run_group_demo(out, "customer", handlers=default_handlers(), jobs=JOBS) == 0
    text = out.getvalue()
    assert text.startswith("小微演示：翠江镇城南村群是企业微信客户群")
    assert "本演示用 Python 模拟 SDK 解密之后的消息记录，不需要 C 编译器" in text          # honest about the archive
    for expected in ("村民·邱阿婆：村口那盏路灯坏了",                                  # heard through the archive
                     "（私信 → 陈芳（文书））【请发到城南村群】", "已登记，编号 101",          # the draft, handed over
                     "群主张建在企业微信「群发助手」里点了「发送」", "（群发，小微拟稿）：【值班公告】",
                     "【正能量】", "【昨日小结】",                                     # one confirmed send, whole
                     "已把编号 101 的受理答复发到群里，记为首次回应 08:20",                # the loop closed
                     "【草稿未发】以下答复还没有发到城南村群里", "已把编号 102 的受理答复发到群里",
                     "已把编号 101 的办结答复发到群里", "结果已私信交值班干部发到群里"):
        assert expected in text, expected
    # The morning's posts reach the group only in the owner's send, never before it.
    assert text.index("（群发，小微拟稿）") > text.index("点了「发送」")
    # 微信客服: the duty notice carries 城南村's link; a private report reaches the inspectors only (checked by the
    # demo on everything the stand-in accepted), a private question is answered privately.
    assert "私信小微：https://work.weixin.qq.com/kf/kfc" in text and "scene_param=%E5%9F%8E%E5%8D%97%E6%9D%91" in text
    for expected in ("村民·吴叔私信小微（微信客服）：村主任把今年的低保名额",
                     "（微信客服 → 村民·吴叔）谢谢您的反映。这件事已保密转交镇纪委处理",
                     "（私信 → 胡纪（镇纪委书记）、任珍（镇纪委干部））【问题线索 J2026-001】城南村",
                     "这条反映只发给了镇纪委胡纪、任珍，群里和村干部都没有收到",
                     "（微信客服 → 村民·周婶）收到您说的“请问今年的高龄补贴",
                     "（微信客服 → 村民·周婶）编号 103 已办结：高龄补贴",
                     "（私信 → 陈芳（文书））103 已办结，结果已私信告知群众。"):
        assert expected in text, expected
    report_lines = [line for line in text.splitlines() if "低保名额" in line]
    assert len(report_lines) == 2        # what 吴叔 wrote, and the inspectors' clue: nothing else carries it
    assert "【请发到城南村群】" not in text[text.index("村民·周婶私信小微"):text.index("14:40")]   # no draft of it


async def test_the_customer_demo_stops_loudly_when_a_reports_words_reach_a_village_cadre():
    from bot.sandbox.demo_groups import REPORT, Step
    out = io.StringIO()
    # The reporter then asks, in a request the village handles, about the same 低保名额: its words go to the duty
    # cadre's card, and the demo's check must say so rather than print that nothing leaked.
    script = [Step("11:05", "wmWu", REPORT, how="kf", secret="低保名额"),
              Step("11:20", "wmWu", "低保名额是怎么评的？评议结果什么时候公示？", how="kf", secret="低保名额")]
    assert await run_group_demo(out, "customer", handlers=default_handlers(), jobs=JOBS, script=script) == 1
    text = out.getvalue()
    assert text.count("群里和村干部都没有收到") == 1
    assert "!! 举报的内容或线索编号发给了镇纪委以外的人：app:cn-chen" in text


async def test_the_bridge_demo_goes_in_and_out_through_the_gateway():
    out = io.StringIO()
    assert await run_group_demo(out, "bridge", handlers=default_handlers(), jobs=JOBS) == 0
    text = out.getvalue()
    assert text.startswith("小微演示：翠江镇城南村群是普通微信群，经县里的网关接入")
    for expected in ("小微（经网关发到群里）：【值班公告】", "小微（经网关发到群里）：收到您说的", "已登记，编号 101",
                     "已记为编号 101「", "的首次回应", "小微（经网关发到群里）：编号 101 已办结",
                     "小微（经网关发到群里）：谢谢您的评价"):
        assert expected in text, expected
    assert "请发到城南村群" not in text          # a gateway group needs no drafts


def test_the_demo_command_takes_the_group_kind(capsys):
    assert main(["demo", "--group", "bridge"]) == 0
    assert "经网关发到群里" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["demo", "--group", "wechat"])
    assert refused.value.code == 2 and "无效的选项 'wechat'" in capsys.readouterr().err


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
