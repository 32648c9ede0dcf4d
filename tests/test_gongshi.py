"""村务公开 end to end: a cadre's 公示 posted into each kind of group and recorded (versions sealed in the audit
chain), residents listing what is on show, and an objection becoming a disclosure case linked to the 公示."""
from __future__ import annotations

from bot.audit import verify
from bot.sandbox.config import SANDBOX_AUDIT_KEY
from tests.conftest import robot_texts, rows
from tests.schedule_helpers import private

FINANCE = "公示 财务收支 2026年11月财务收支\n收入：上级补助 5万元；支出：修村道 3.2万元、路灯 0.8万元。"


def last_answer(standin) -> str:
    return list(standin.response_posts.values())[-1]["markdown"]["content"]


async def say(service, standin, text: str, userid: str = "resident-1", **kw) -> None:
    assert (await service.aibot(standin, text=text, userid=userid, **kw)).status == 200
    await service.bot.settle()


async def test_a_cadre_posts_a_gongshi_into_an_internal_group_and_a_resident_objects(service, standin, clock):
    await say(service, standin, FINANCE, userid="cn-chen")
    [posted] = robot_texts(standin)
    assert posted.startswith("【村务公开·公示1】财务收支（财务）\n2026年11月财务收支\n收入：上级补助 5万元")
    # Posted Tue 12-01, 7 working days: Wed 12-02 … Thu 12-10.
    assert "公示期：12月1日（周二）至12月10日（周四）" in posted and "公示1 您的意见" in posted
    assert last_answer(standin) == "已发布公示1（财务收支），公示期至12月10日（周四）。"
    [row] = rows(service.bot, "SELECT number, version, action, item, period, ends_on FROM publicity")
    assert row == {"number": 1, "version": 1, "action": "posted", "item": "财务收支", "period": "2026-11",
                   "ends_on": "2026-12-10"}

    await say(service, standin, "公示")
    assert last_answer(standin).startswith("城南村正在公示：\n· 公示1 财务收支：2026年11月财务收支（至12月10日（周四））")

    clock.set("2026-12-02T10:00:00+08:00")
    await say(service, standin, "公示1 修村道3.2万元是哪一段路？账目太笼统了", userid="resident-2")
    [case] = rows(service.bot, "SELECT c.number, s.kind, s.due_at FROM cases c JOIN case_state s ON s.case_id = c.id")
    assert case["kind"] == "disclosure" and case["due_at"].startswith("2026-12-16")   # 10 working days from Wed
    [linked] = rows(service.bot, "SELECT item, number, kind FROM publicity_links")
    assert linked == {"item": "财务收支", "number": 1, "kind": "objection"}
    assert any(t.startswith(f"【公示异议 {case['number']}】城南村·公示1（财务收支）收到第1件异议")
               for t in private(standin, "cn-chen"))
    assert any("公示异议" in t for t in private(standin, "cn-zhang"))      # the party secretary hears too
    await say(service, standin, "公示")
    assert "（至12月10日（周四），异议1件）" in last_answer(standin)
    events = rows(service.bot, "SELECT action FROM events ORDER BY id")
    assert [e["action"] for e in events] == ["opened", "linked"]
    assert service.bot.store.read_sync(verify, SANDBOX_AUDIT_KEY.encode()) == []
    sealed = rows(service.bot, "SELECT COUNT(*) AS n FROM ledger WHERE tbl = 'publicity'")
    assert sealed == [{"n": 1}]


async def test_a_correction_is_a_new_version_and_the_old_one_stays(service, standin, clock):
    await say(service, standin, FINANCE, userid="cn-chen")
    clock.set("2026-12-02T09:00:00+08:00")
    await say(service, standin, "更正公示 1 2026年11月财务收支（更正）\n收入：上级补助 5万元；支出：修村道 3.0万元、路灯 1.0万元。",
              userid="cn-chen")
    corrected = robot_texts(standin)[-1]
    assert corrected.startswith("【更正·村务公开·公示1】财务收支（财务）\n2026年11月财务收支（更正）\n")
    assert "以本次更正为准，原公示同时作废。" in corrected
    assert "公示期：12月2日（周三）至12月11日（周五）" in corrected               # starts again from the correction
    assert last_answer(standin) == "公示1已更正（第2版），公示期重新计算至12月11日（周五）。"
    versions = rows(service.bot, "SELECT version, action, body FROM publicity ORDER BY version")
    assert [(v["version"], v["action"]) for v in versions] == [(1, "posted"), (2, "corrected")]
    assert "3.2万元" in versions[0]["body"] and "3.0万元" in versions[1]["body"]     # the old one stays as it was
    try:
        service.bot.store.write_sync(lambda db: db.execute("UPDATE publicity SET body = '' WHERE version = 1"))
        raise AssertionError("an UPDATE of a 公示 went through")
    except Exception as refused:   # noqa: BLE001 - the trigger's abort, whatever the driver wraps it in
        assert "append-only" in str(refused)

    await say(service, standin, "撤回公示 1 数据要重新核对", userid="cn-chen")
    assert robot_texts(standin)[-1] == "【撤回·公示1】财务收支：2026年11月财务收支（更正）\n已撤回。原因：数据要重新核对"
    await say(service, standin, "公示")
    assert last_answer(standin) == "城南村现在没有正在公示的事项。"
    await say(service, standin, "更正公示 1 再改", userid="cn-chen")
    assert last_answer(standin) == "公示1已撤回，不能再更正。"
    assert service.bot.store.read_sync(verify, SANDBOX_AUDIT_KEY.encode()) == []


async def test_only_the_villages_cadres_post_and_the_item_must_be_on_the_list(service, standin):
    await say(service, standin, FINANCE, userid="resident-1")          # a resident: not a command
    assert rows(service.bot, "SELECT * FROM publicity") == []
    await say(service, standin, "公示 财务收支 双虹村的账", userid="sh-qiu")   # another village's cadre
    assert last_answer(standin) == "只有本村干部可以发布、更正或撤回公示。"
    await say(service, standin, "公示 党 党员大会", userid="cn-zhang")         # 党费收缴 or 党员发展?
    assert last_answer(standin).startswith("小微权力清单里没有“党”这一项（或不止一项以它开头）。可以公示的有：")
    await say(service, standin, "公示 低保 2026年第四季度低保对象拟评名单\n张三 李四", userid="cn-li")  # a prefix
    [row] = rows(service.bot, "SELECT item, period FROM publicity")
    assert row == {"item": "低保对象", "period": ""}                             # per event: no period
    assert "这是事前公示：公示期满、群众没有异议后才能实施。" in robot_texts(standin)[-1]


async def test_an_objection_by_its_content_or_a_quote_is_linked_and_a_missing_item_too(service, standin, clock):
    await say(service, standin, "公示 工程项目 村道硬化工程预算\n拟硬化后山村道 800 米，预算 36 万元，由村集体资金支付。",
              userid="cn-li")
    clock.set("2026-12-02T10:00:00+08:00")
    await say(service, standin, "后山村道硬化800米要36万元，预算是不是太高了，能不能公开明细", userid="resident-2")
    await say(service, standin, "「小微：【村务公开·公示1】工程项目（村务）村道硬化工程预算」\n- - - - - - -\n"
                                "这个预算谁定的？我们有意见", userid="resident-3")
    await say(service, standin, "我们村的党费收缴情况好几个季度都没有公开过了", userid="resident-4")
    links = rows(service.bot, "SELECT l.item, l.number, l.kind, s.kind AS case_kind FROM publicity_links l "
                              "JOIN case_state s ON s.case_id = l.case_id ORDER BY l.case_id")
    assert links == [{"item": "工程项目", "number": 1, "kind": "objection", "case_kind": "disclosure"},
                     {"item": "工程项目", "number": 1, "kind": "objection", "case_kind": "disclosure"},
                     {"item": "党费收缴", "number": None, "kind": "missing", "case_kind": "disclosure"}]
    await say(service, standin, "公示")
    assert "（至12月8日（周二），异议2件）" in last_answer(standin)


async def test_misconduct_about_a_gongshi_is_still_a_confidential_report(service, standin, clock):
    await say(service, standin, "公示 低保对象 2026年第四季度低保对象拟评名单\n王五", userid="cn-li")
    posted = len(robot_texts(standin))
    await say(service, standin, "公示1里的王五是村主任的亲戚，家里有车有楼房，村主任优亲厚友，我要举报", userid="resident-5")
    assert rows(service.bot, "SELECT * FROM publicity_links") == []
    [clue] = rows(service.bot, "SELECT number, kind FROM cases")
    assert clue["kind"] == "report" and clue["number"].startswith("J")
    assert len(robot_texts(standin)) == posted                      # nothing about it in the group
    assert not any("王五是村主任的亲戚" in t for t in private(standin, "cn-li"))


async def test_a_gongshi_goes_out_as_each_group_kind_allows(config, clock, standin):
    from tests.conftest import start_service, stop_service
    from tests.schedule_helpers import run_at
    from tests.test_group_kinds import kinds
    config = kinds(config, 城南村="customer", 双虹村="bridge")
    standin.add_customer_group("wrkSFfCgAAcnchengnan", name="城南村群", owner="cn-zhang")
    service = await start_service(config, clock)
    try:
        clock.set("2026-12-01T10:00:00+08:00")      # after the morning's group send: it waits for tomorrow's
        await say(service, standin, FINANCE, userid="cn-chen", chatid=None, chattype="single")
        # Residents see it on Wed 12-02: the 7 working days count from then (Thu 12-03 … Fri 12-11).
        assert last_answer(standin) == ("已发布公示1（财务收支），公示期至12月11日（周五）。"
                                        "客户群要群主确认群发：已排入12月2日（周三）的群发，群主确认后群众可见。")
        assert standin.robot_messages == {}
        await run_at(service.bot, clock, "group_send", "2026-12-02T09:10+08:00")
        [send] = rows(service.bot, "SELECT msgid FROM group_sends WHERE village = '城南村'")
        standin.confirm_group_send(send["msgid"], "cn-zhang")
        [received] = standin.customer_group_messages["wrkSFfCgAAcnchengnan"]
        text = received["text"]["content"] if isinstance(received.get("text"), dict) else str(received)
        assert "【村务公开·公示1】财务收支（财务）" in text

        await say(service, standin, "公示 集体三资 2026年第三季度集体三资\n集体山林承包租金 2.4 万元", userid="sh-huang",
                  chatid=None, chattype="single")
        [bridged] = [r for r in rows(service.bot, "SELECT target, payload FROM outbox WHERE kind = 'bridge'")
                     if "公示2" in r["payload"]]
        assert bridged["target"] == "wrkSFfCgAAcnshuanghong" and "集体山林承包租金" in bridged["payload"]
        assert last_answer(standin).startswith("已发布公示2（集体三资）")
    finally:
        await stop_service(service)


async def test_a_picture_sent_with_the_gongshi_is_pointed_at_or_asked_for(service, standin):
    payload = standin.aibot_message(chatid="wrkSFfCgAAcnchengnan", userid="cn-li", text="")
    payload["msgtype"] = "mixed"
    payload["mixed"] = {"msg_item": [
        {"msgtype": "text", "text": {"content": "@小微 公示 工程项目 村道硬化工程预算\n预算见图"}},
        {"msgtype": "image", "image": {"url": "https://ww-aibot-img.example/1"}}]}
    del payload["text"]
    params, body = standin.seal_aibot(payload)
    assert (await service.post("/wecom/aibot", params, body)).status == 200
    await service.bot.settle()
    assert "（附图片，见村委会主任李明在群里发的原消息）" in robot_texts(standin)[-1]
    assert rows(service.bot, "SELECT media FROM publicity") == [{"media": "image"}]

    private = standin.aibot_message(chatid=None, userid="cn-li", text="", chattype="single")
    private["msgtype"] = "mixed"
    private["mixed"] = {"msg_item": [{"msgtype": "text", "text": {"content": "公示 低保对象 拟评名单"}},
                                     {"msgtype": "image", "image": {"url": "https://ww-aibot-img.example/2"}}]}
    del private["text"]
    params, body = standin.seal_aibot(private)
    assert (await service.post("/wecom/aibot", params, body)).status == 200
    await service.bot.settle()
    assert last_answer(standin).endswith("小微不能转发图片和文件：请把图片直接发到群里，群众才看得到。")
    assert "附图片" not in robot_texts(standin)[-1]


def test_matching_without_running_anything(config):
    """PTB-style: a Message factory and the handlers' `match`, no network, no database."""
    from datetime import datetime

    from bot.classifier import Verdict
    from bot.context import MessageContext
    from bot.inbox import Message
    from bot.roles import Roles
    from handlers import gongshi

    village = config.village_by_name("城南村")

    def message(text: str, sender: str = "resident-1", **kw) -> Message:
        return Message(channel="aibot", msgid="m", chattype="group", sender=sender, text=text, village=village,
                       received_at=datetime.fromisoformat("2026-12-01T09:00+08:00"), **kw)

    def ctx(msg: Message, label: str = "chatter") -> MessageContext:
        return MessageContext(config=config, roles=Roles(config), calendar=None, clock=None, commit=None, read=None,
                              message=msg, classify=lambda m: Verdict(label, 0.9, {label: 0.9}))

    post = message("公示 财务收支 11月财务收支\n收入5万", sender="cn-chen")
    assert gongshi.match(post, ctx(post)) == gongshi.Post("财务收支", "11月财务收支", "收入5万")
    assert gongshi.match(message("公示 财务收支 11月"), ctx(message("公示"))) is None       # residents do not post
    pointing = message("公示3 这笔开支不清楚", sender="cn-chen")
    assert gongshi.match(pointing, ctx(pointing)) is None                                 # a number: not a post
    assert gongshi.match(message("公示"), ctx(message("公示"))) == "list"
    change = message("撤回公示 3 数据有误", sender="cn-chen")
    assert gongshi.match(change, ctx(change)) == gongshi.Change("撤回公示", 3, "数据有误")

    def objection(text: str, label: str = "chatter", **kw):
        msg = message(text, **kw)
        return gongshi.match_objection(msg, ctx(msg, label))
    assert objection("公示3 这笔开支不清楚") == "pointer"
    assert objection("谢谢，公示3看到了") is None                                          # names it, objects to nothing
    assert objection("修路的钱公示了吗", "disclosure") == "content"
    assert objection("路灯坏了", "help") is None                                           # nothing about publishing
    assert objection("公示3 这笔开支不清楚", sender="cn-li") is None                         # cadres do not object
    assert objection("公示3 不对", mentions_bot=False) is None                             # overheard chatter


async def test_a_cadre_asking_for_the_list_also_sees_what_is_owed(service, standin):
    await say(service, standin, "公示", userid="cn-li")
    answer = last_answer(standin)
    assert answer.startswith("城南村现在没有正在公示的事项。")
    # No [power_list] start in the example: October's accounts were due by the 10th working day of November.
    assert "\n已超期未公开：财务收支（2026年10月），应在11月13日（周五）前" in answer
    await say(service, standin, "公示")                                       # a resident: the list only
    assert last_answer(standin) == "城南村现在没有正在公示的事项。"


async def test_an_objection_relabelled_as_a_report_is_no_longer_counted_in_the_group(service, standin, clock):
    await say(service, standin, FINANCE, userid="cn-chen")
    await say(service, standin, "公示1 修村道3.2万元是哪一段路？账目太笼统了", userid="resident-2")
    [case] = rows(service.bot, "SELECT number FROM cases")
    await say(service, standin, "公示")
    assert "异议1件" in last_answer(standin)
    await say(service, standin, f"改类 {case['number']} 举报", userid="cn-li")
    await say(service, standin, "公示")
    assert "异议1件" not in last_answer(standin) and "（至12月10日（周四））" in last_answer(standin)
