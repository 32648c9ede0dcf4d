"""The clue ledger: the discipline organs' steps with validated transitions, who may act, each step sealed in
the audit chain, the reporter told privately, the 澄清正名 notice and what it may carry."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot import audit, clue_ledger
from bot.config import Cadre, Town, Village
from bot.sandbox.config import SANDBOX_AUDIT_KEY
from tests.conftest import robot_texts, rows, start_service, stop_service
from tests.test_cases import case_row, last_response, private_to, say

REPORT = "村会计李明把修路的钱挪去给自己亲戚用了，账上做了假，我要举报"


async def inspector(service, standin, text: str, userid: str = "zjw-hu") -> str:
    await say(service, standin, text, userid=userid, chattype="single", chatid=None)
    return last_response(standin)


async def reported(service, standin) -> None:
    await say(service, standin, REPORT)                              # J2026-001 from resident-1, in 城南村's group
    assert case_row(service.bot, "J2026-001")["kind"] == "report"


async def test_the_steps_follow_the_rules_and_each_is_sealed_in_the_audit_chain(service, standin, clock):
    await reported(service, standin)
    assert await inspector(service, standin, "线索 1 初步核实 先查账") == \
        "J2026-001 现在是“待受理”，下一步只能是：受理。"
    assert (await inspector(service, standin, "线索 1 受理")).startswith("线索 J2026-001：已记为“受理”")
    assert await inspector(service, standin, "线索 J2026-001 立案审查调查 证据确凿") == \
        "J2026-001 现在是“受理”，下一步只能是：谈话函询、初步核实、暂存待查、予以了结。"
    assert await inspector(service, standin, "线索 J2026-001 初步核实") == "请写明理由：线索 J2026-001 初步核实 理由"
    clock.set("2026-12-02T10:00:00+08:00")
    await inspector(service, standin, "线索 J2026-1 初步核实 调取修路工程账目核对")
    await inspector(service, standin, "线索 J2026-001 立案审查调查 账目与票据不符，涉嫌挪用", userid="zjw-ren")
    assert (await inspector(service, standin, "线索 J2026-001 办结 挪用属实")).startswith("请写明结论")
    assert (await inspector(service, standin, "线索 J2026-001 办结 部分属实 挪用属实，做假账不属实")).startswith(
        "线索 J2026-001 已办结，结论：部分属实")
    assert await inspector(service, standin, "线索 J2026-001 予以了结 重复") == \
        "J2026-001 现在是“办结”，下一步只能是：（已办结，不能再变更）。"
    state = case_row(service.bot, "J2026-001")
    assert (state["stage"], state["outcome"], state["status"]) == ("办结", "部分属实", "answered")
    # Every step is an event of the hash chain, each with its own sealed entry in the keyed ledger.
    steps = rows(service.bot, "SELECT e.id, e.actor, e.detail FROM events e WHERE action = 'clue_step' ORDER BY id")
    assert [s["actor"] for s in steps] == ["zjw-hu", "zjw-hu", "zjw-ren", "zjw-hu"]
    sealed = rows(service.bot, "SELECT row_id FROM ledger WHERE tbl = 'events'")
    assert {s["id"] for s in steps} <= {r["row_id"] for r in sealed}
    assert service.bot.store.read_sync(lambda db: audit.verify(db, SANDBOX_AUDIT_KEY.encode())) == []
    # The ledger reads back who, when and why.
    [entry] = service.bot.store.read_sync(lambda db: clue_ledger.entries(db, service.bot.config, clock.now()))
    done = [(s.action, s.actor, s.note) for s in entry.steps if s.action in clue_ledger.STEPS]
    assert done == [("受理", "镇纪委书记胡纪", ""), ("初步核实", "镇纪委书记胡纪", "调取修路工程账目核对"),
                    ("立案审查调查", "镇纪委干部任珍", "账目与票据不符，涉嫌挪用"),
                    ("办结", "镇纪委书记胡纪", "挪用属实，做假账不属实")]
    assert [s.action for s in entry.steps[:2]] == ["收到", "移送纪委"]
    [checked] = [s for s in entry.steps if s.action == "初步核实"]
    assert checked.at == datetime.fromisoformat("2026-12-02T10:00:00+08:00")
    assert (entry.stage, entry.outcome, entry.open, entry.flagged) == ("办结", "部分属实", False, False)


async def test_the_reporter_is_told_privately_that_it_was_handled_and_nothing_more(service, standin):
    await reported(service, standin)
    for step in ("受理", "谈话函询 约谈村会计", "办结 属实 已责令退回并给予警告"):
        await inspector(service, standin, f"线索 J2026-001 {step}")
    told = private_to(standin, "resident-1")
    assert told == ["您反映的问题（编号 J2026-001）已办理完毕。谢谢您对村务的监督。"]
    assert all("J2026" not in t and "举报" not in t for t in robot_texts(standin))   # the group heard nothing


async def test_only_the_towns_inspectors_and_the_county_commission_may_act_and_only_in_private(config, clock,
                                                                                               standin):
    other = Town(name="石壁镇", inspectors=(Cadre("sb-jw", "石纪", "镇纪委书记"),),
                 villages=(Village(name="石壁村", town="石壁镇", chat_id="wr-shibi", webhook_key="robot-shibi",
                                   cadres=(Cadre("sb-sec", "石书", "党支部书记", secretary=True),)),))
    service = await start_service(replace(config, towns=(*config.towns, other)), clock)
    try:
        await reported(service, standin)
        assert await inspector(service, standin, "线索 J2026-001 受理", userid="cn-zhang") == "没有找到这个编号。"
        assert await inspector(service, standin, "线索 J2026-001 受理", userid="sb-jw") == "没有找到这个编号。"
        await say(service, standin, "线索 J2026-001 受理", userid="zjw-hu")              # in the group
        assert last_response(standin) == "请私聊小微办理。"
        assert case_row(service.bot, "J2026-001")["stage"] is None
        assert (await inspector(service, standin, "线索 J2026-001 受理", userid="xjw-zhou")).startswith(
            "线索 J2026-001：已记为“受理”")                                              # the county commission
        assert case_row(service.bot, "J2026-001")["stage"] == "受理"
    finally:
        await stop_service(service)


async def test_a_cleared_cadre_is_named_in_the_group_in_one_neutral_sentence(service, standin):
    await reported(service, standin)
    await inspector(service, standin, "线索 J2026-001 受理")
    await inspector(service, standin, "线索 J2026-001 初步核实 核对修路账目")
    assert await inspector(service, standin, "线索 J2026-001 办结 属实 澄清 李明") == \
        "只有结论为不属实或诬告的，才能为干部澄清正名。"
    assert await inspector(service, standin, "线索 J2026-001 办结 不属实 澄清 李四") == \
        "翠江镇没有叫“李四”的村干部，请写配置里登记的姓名。"
    assert robot_texts(standin) == []
    answer = await inspector(service, standin, "线索 J2026-001 办结 不属实 澄清 李明 账目清楚，钱款用于修路")
    assert "已在城南村群里为村委会主任李明澄清正名" in answer
    [notice] = robot_texts(standin)
    assert notice == "【澄清正名】经翠江镇纪委核实，群众反映村委会主任李明同志的问题不属实，特此澄清正名。"
    # Nothing of the clue beyond the cadre's name: no number, no words of the report, no reason, no reporter.
    assert "J2026" not in notice and "账" not in notice and "亲戚" not in notice
    [robot] = standin.robot_messages["robot-key-chengnan"]
    assert robot["text"].get("mentioned_list") == ["cn-li"]                  # the cadre, never the reporter


async def test_a_false_accusation_is_flagged_for_follow_up(service, standin, clock):
    await reported(service, standin)
    await inspector(service, standin, "线索 J2026-001 受理")
    await inspector(service, standin, "线索 J2026-001 初步核实 核对账目")
    answer = await inspector(service, standin, "线索 J2026-001 办结 诬告 澄清 cn-li 捏造事实")
    assert "已标记为诬告陷害" in answer
    [entry] = service.bot.store.read_sync(lambda db: clue_ledger.entries(db, service.bot.config, clock.now()))
    assert (entry.outcome, entry.flagged, entry.cleared) == ("诬告", True, "村委会主任李明")


def test_parse_reads_the_short_and_the_full_numbers():
    assert clue_ledger.parse("线索 12 初步核实 理由", 2026) == clue_ledger.ClueCommand("J2026-012", "初步核实", "理由")
    assert clue_ledger.parse("线索 翠江镇 J2026-7 受理", 2026).town == "翠江镇"
    assert clue_ledger.parse("线索 J2026-001", 2026).step is None
    assert clue_ledger.parse("线索来了", 2026) is None


async def test_help_shows_the_ledger_commands_to_inspectors_privately_only(service, standin):
    assert "线索 12 初步核实 理由" in await inspector(service, standin, "帮助")
    assert "交办" not in await inspector(service, standin, "帮助")
    assert "交办 101 部门 意见" in await inspector(service, standin, "帮助", userid="xjw-zhou")
    await say(service, standin, "@小微 帮助", userid="zjw-hu")                       # in the group
    assert "纪委线索台账" not in last_response(standin)
    assert "纪委线索台账" not in await inspector(service, standin, "帮助", userid="cn-li")


async def test_a_reporter_in_a_plain_wechat_group_is_sent_nothing_and_the_inspector_is_asked_to_tell_them(
        service, standin, clock):
    """One who reported through the gateway (or a customer group's archive) is on personal WeChat: an app message
    cannot reach them and a 1:1 group send would show a cadre who reported. Nothing goes out; the inspector hears how."""
    from tests.test_bad_input import bridge_message, post_bridge
    report = bridge_message(msgid="br-report", text=REPORT, sender={"userid": "wx-reporter"})
    assert (await post_bridge(service, clock, report)).status == 200
    await service.bot.settle()
    assert case_row(service.bot, "J2026-001")["kind"] == "report"
    await inspector(service, standin, "线索 J2026-001 受理")
    await inspector(service, standin, "线索 J2026-001 予以了结 经查账目清楚")
    closing = await inspector(service, standin, "线索 J2026-001 办结 不属实 经查账目清楚")
    assert "小微无法私信对方，请通过电话或当面告知" in closing
    assert not [r for r in standin.requests if r.target == "wx-reporter"]       # the stand-in's whole log
    assert all("J2026" not in t for t in robot_texts(standin))
