"""微信客服 end to end: a resident on personal WeChat writes to the kf account, WeCom's notice reaches the app
callback, the bot pulls with sync_msg, the same handlers act, and replies go back by kf/send_msg inside WeCom's
window — through a real server and the stand-in."""
from __future__ import annotations

from dataclasses import replace

import pytest

from bot.casework import CLUE_THANKS
from bot.config import Kf
from bot.sandbox.standin import app_text
from handlers.addressed import MEDIA_LINE
from tests.conftest import CHENGNAN_ROBOT, rows, start_service, stop_service

KF_ID = "wkXiaoweiDesk"
RESIDENT = "wmResidentLi"
LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的老人走路怕摔，麻烦派人来修一下"
REPORT = "村主任把今年的低保名额给了他自己的亲戚，他们家有车有楼房，请纪委来查一查"
INSPECTORS = {"zjw-hu", "zjw-ren"}


@pytest.fixture
def kf_config(config):
    return replace(config, kf=Kf(open_kfid=KF_ID))


@pytest.fixture
async def kf_service(kf_config, clock, standin):
    standin.add_kf_account(KF_ID)
    svc = await start_service(kf_config, clock)
    yield svc
    await stop_service(svc)


async def post(service, sealed) -> None:
    resp = await service.post("/wecom/app", *sealed)
    assert resp.status == 200


async def kf_say(service, standin, text=None, *, user=RESIDENT, village: str | None = None, **kw) -> None:
    """The resident writes (through the village's kf link when `village` is given); WeCom notifies the app."""
    await post(service, standin.kf_customer_message(KF_ID, user, text, scene="village" if village else None,
                                                    scene_param=village, **kw))
    await service.bot.settle()


async def cadre_types(service, standin, text, userid="cn-zhang") -> None:
    await post(service, standin.seal_app(userid=userid, text=text))
    await service.bot.settle()


def kf_replies(standin, user=RESIDENT) -> list[str]:
    return [m["text"]["content"] for m in standin.kf_sent[user]]


def everything_sent(standin) -> list[tuple[str, str]]:
    return standin.delivered()


async def test_a_residents_kf_message_opens_a_case_answered_by_kf(kf_service, standin):
    await kf_say(kf_service, standin, LAMP, village="城南村")
    [case] = rows(kf_service.bot, "SELECT number, village, requester FROM cases")
    assert (case["number"], case["village"], case["requester"]) == ("101", "城南村", RESIDENT)
    [answer] = kf_replies(standin)
    assert answer.startswith("收到您说的“村口那盏路灯坏了") and "编号 101" in answer and "12月4日（周五）前答复您" in answer
    assert standin.kf_sent[RESIDENT][0]["open_kfid"] == KF_ID
    assert standin.robot_messages.get(CHENGNAN_ROBOT, []) == []     # raised privately: not announced in the group
    [card] = [m for m in standin.app_messages if m["touser"] == "cn-zhang"]
    assert card["msgtype"] == "template_card" and "新诉求 101" in app_text(card)
    # The resident's next message (no link this time) still belongs to 城南村, and asks for the status.
    await kf_say(kf_service, standin, "查询 101")
    assert "编号 101" in kf_replies(standin)[-1] and "村里正在办理" in kf_replies(standin)[-1]
    # The cadre claims it by typing; the resident hears of it privately, the group still hears nothing.
    await cadre_types(kf_service, standin, "认领 101")
    assert "已由党支部书记张建认领办理" in kf_replies(standin)[-1]
    assert standin.robot_messages.get(CHENGNAN_ROBOT, []) == []


async def test_the_cadres_reply_says_the_news_went_privately_to_the_resident(kf_service, standin):
    await kf_say(kf_service, standin, "请问今年的高龄补贴什么时候发？要带什么材料", village="城南村")
    await cadre_types(kf_service, standin, "进展 101 已问过民政办")
    await cadre_types(kf_service, standin, "办结 101 每季度末发到社保卡，带身份证到村委会登记")
    progress, done = app_text_to(standin, "cn-zhang")[-2:]
    assert progress == "已记录 101 的进展，已私信告知群众。"
    assert done == "101 已办结，结果已私信告知群众。"                   # not "发到城南村群里": it never was
    assert "每季度末发到社保卡" in kf_replies(standin)[-1]
    assert standin.robot_messages.get(CHENGNAN_ROBOT, []) == []


async def test_a_group_cases_result_is_still_said_to_be_in_the_group(kf_service, standin):
    await kf_service.aibot(standin, text="@小微 村口那盏路灯坏了一个多星期了，麻烦派人来修一下", userid="wmApo")
    await kf_service.bot.settle()
    await cadre_types(kf_service, standin, "办结 101 路灯已修好")
    assert app_text_to(standin, "cn-zhang")[-1] == "101 已办结，结果已发到城南村群里。"


async def test_a_kf_report_reaches_the_inspectors_only(kf_service, standin):
    await kf_say(kf_service, standin, REPORT, village="城南村")
    assert kf_replies(standin) == [CLUE_THANKS]                     # a neutral acknowledgement, nothing more
    told = {to for to, text in everything_sent(standin) if "低保名额" in text}
    assert told == {"app:zjw-hu", "app:zjw-ren"}
    clue = "J2026-001"
    assert all(clue not in text for to, text in everything_sent(standin) if to.split(":")[1] not in INSPECTORS)
    # The reporter asks about it privately: the status, nothing of the content.
    await kf_say(kf_service, standin, f"查询 {clue}")
    assert "镇纪委正在核查" in kf_replies(standin)[-1] and "低保" not in kf_replies(standin)[-1]
    assert {to for to, text in everything_sent(standin) if "低保" in text} == {"app:zjw-hu", "app:zjw-ren"}


async def test_a_kf_reporter_hears_through_kf_that_the_clue_was_handled(kf_service, standin):
    from bot.clue_ledger import REPORTER_TOLD
    await kf_say(kf_service, standin, REPORT, village="城南村")
    for step in ("受理", "初步核实 调取低保评议记录", "办结 不属实 评议程序合规"):
        await cadre_types(kf_service, standin, f"线索 J2026-001 {step}", userid="zjw-hu")
    told = REPORTER_TOLD.format(number="J2026-001")
    # Through 微信客服, the only way to reach a personal-WeChat user; never as an app message to an external id.
    assert kf_replies(standin)[-1] == told
    assert app_text_to(standin, RESIDENT) == []
    assert "已私信告知反映人" in app_text_to(standin, "zjw-hu")[-1]


async def test_voice_gets_one_line_asking_for_text(kf_service, standin):
    await kf_say(kf_service, standin, voice_media_id="media-voice-1", village="城南村")
    assert kf_replies(standin) == [MEDIA_LINE]
    assert rows(kf_service.bot, "SELECT media, text FROM messages WHERE channel = 'kf'") == [
        {"media": "voice", "text": ""}]


async def test_the_window_holds_a_sixth_reply_and_a_late_one_and_the_cadre_is_told(kf_service, standin, clock):
    await kf_say(kf_service, standin, LAMP, village="城南村")      # reply 1: the intake
    await cadre_types(kf_service, standin, "认领 101")              # 2
    for step in ("已联系电工", "电工明天上午到", "灯泡已买好"):        # 3, 4, 5
        await cadre_types(kf_service, standin, f"进展 101 {step}")
    assert len(kf_replies(standin)) == 5
    await cadre_types(kf_service, standin, "办结 101 路灯已修好")   # the 6th within 48 h: WeCom would refuse it
    assert len(kf_replies(standin)) == 5
    assert rows(kf_service.bot, "SELECT COUNT(*) AS n FROM outbox WHERE kind = 'kf'") == [{"n": 5}]
    assert all(r.errcode == 0 for r in standin.requests if r.endpoint == "kf_send_msg")   # never even tried
    [held] = rows(kf_service.bot, "SELECT reason, text, resent_at FROM kf_held")
    assert (held["reason"], held["resent_at"]) == ("5", None) and "已办结：路灯已修好" in held["text"]
    told = [t for t in app_text_to(standin, "cn-zhang") if t.startswith("【私信未送达 101】")]
    assert len(told) == 1 and "路灯已修好" in told[0]
    assert app_text_to(standin, "cn-zhang")[-1].startswith("101 已办结，结果暂时没能私信给群众")

    clock.advance(hours=49)                               # two days on, the resident has not written
    await cadre_types(kf_service, standin, "进展 101 回访：灯一直亮着")
    assert len(kf_replies(standin)) == 5
    assert [r["reason"] for r in rows(kf_service.bot, "SELECT reason FROM kf_held ORDER BY id")] == ["5", "48h"]
    assert len([t for t in app_text_to(standin, "cn-zhang") if t.startswith("【私信未送达 101】")]) == 2

    await kf_say(kf_service, standin, "满意 101")                   # the window opens again
    held_now, rated = kf_replies(standin)[5:]
    assert held_now.startswith("您之前的消息") and "路灯已修好" in held_now and "灯一直亮着" in held_now
    assert "谢谢您的评价" in rated
    assert rows(kf_service.bot, "SELECT COUNT(*) AS n FROM kf_held WHERE resent_at IS NULL") == [{"n": 0}]


def app_text_to(standin, userid) -> list[str]:
    return [app_text(m) for m in standin.app_messages if m["touser"] == userid]


async def test_a_pull_cut_between_pages_resumes_from_the_cursor_after_a_restart(kf_config, clock, standin):
    standin.add_kf_account(KF_ID)
    first = await start_service(kf_config, clock)
    first.bot.kf.page_size = 2
    standin.kf_customer_message(KF_ID, RESIDENT, "你好", scene="village", scene_param="城南村")   # enter + text
    standin.kf_customer_message(KF_ID, RESIDENT, "在吗")
    notice = standin.kf_customer_message(KF_ID, RESIDENT, "您好")
    standin.disconnect_next("kf_sync_msg", after=1)                 # page 1 arrives, the call for page 2 is cut
    await post(first, notice)
    await first.bot.settle()
    kf_rows = "SELECT text FROM messages WHERE channel = 'kf' ORDER BY id"
    assert [r["text"] for r in rows(first.bot, kf_rows)] == ["你好"]
    assert rows(first.bot, "SELECT status FROM app_events") == [{"status": "new"}]   # kept for the next start
    async with first.http.get(first.url("/healthz")) as resp:
        assert (await resp.json())["unhandled_app_events"] == 1
    await stop_service(first)                                        # the process goes away

    second = await start_service(kf_config, clock)                  # same database: picks the notice up
    second.bot.kf.page_size = 2
    await second.bot.settle()
    assert [r["text"] for r in rows(second.bot, kf_rows)] == ["你好", "在吗", "您好"]
    assert rows(second.bot, "SELECT status FROM app_events") == [{"status": "done"}]
    assert len(kf_replies(standin)) == 3                             # each greeting answered once
    pulls = [r.errcode for r in standin.requests if r.endpoint == "kf_sync_msg"]
    assert pulls == [0, None, 0]                                     # page 1, the cut call, page 2 after the restart
    # Re-reading from the start (a crash before the cursor's commit) folds every message by its msgid.
    second.bot.store.write_sync(lambda db: db.execute("DELETE FROM kf_cursors"))
    token = standin.kf_customer_message(KF_ID, RESIDENT)             # a fresh notice, no new message
    await post(second, token)
    await second.bot.settle()
    assert len(rows(second.bot, kf_rows)) == 3 and len(kf_replies(standin)) == 3
    await stop_service(second)


async def test_a_retried_notice_folds(kf_service, standin):
    sealed = standin.kf_customer_message(KF_ID, RESIDENT, "你好", scene="village", scene_param="城南村")
    await post(kf_service, sealed)
    await post(kf_service, sealed)                                   # WeCom retries an unanswered callback
    await kf_service.bot.settle()
    assert rows(kf_service.bot, "SELECT kind, status FROM app_events") == [{"kind": "kf", "status": "done"}]
    assert len(kf_replies(standin)) == 1


async def test_an_expired_token_loses_nothing(kf_config, standin, clock):
    standin.add_kf_account(KF_ID)
    # A notice handled more than 10 minutes late (here: delivered late, within a loose clock-skew setting).
    service = await start_service(replace(kf_config, server=replace(kf_config.server, clock_skew_seconds=3600)),
                                  clock)
    late = standin.kf_customer_message(KF_ID, RESIDENT, "你好", scene="village", scene_param="城南村")
    clock.advance(minutes=11)                                        # the notice's Token lives 10 minutes
    await post(service, late)
    await service.bot.settle()
    assert rows(service.bot, "SELECT status FROM app_events") == [{"status": "failed"}]
    assert rows(service.bot, "SELECT * FROM kf_cursors") == []     # the cursor did not move
    await kf_say(service, standin, "在吗")                           # the next notice pulls from the cursor
    assert [r["text"] for r in rows(service.bot, "SELECT text FROM messages WHERE channel = 'kf' ORDER BY id")] == \
        ["你好", "在吗"]
    await stop_service(service)


def test_the_duty_notice_carries_the_villages_kf_link(config):
    from datetime import date

    from schedules.duty_notice import notice
    link = "https://work.weixin.qq.com/kf/kfc0123?enc_scene=ENC0123&scene_param=%E5%9F%8E%E5%8D%97%E6%9D%91"
    village = replace(config.village_by_name("城南村"), kf_link=link)
    text = notice(village, list(village.cadres[:1]), date(2026, 12, 1))
    assert f"私信小微：{link}（反映干部问题也可私信，全程保密）" in text.splitlines()
    assert "私信小微" not in notice(config.village_by_name("双虹村"), list(village.cadres[:1]), date(2026, 12, 1))


async def test_a_resident_who_came_without_a_village_link_is_asked_to_use_one(kf_service, standin):
    from handlers.requests import KF_WHICH_VILLAGE
    await kf_say(kf_service, standin, LAMP)                          # no enter_session: which village is unknown
    assert kf_replies(standin) == [KF_WHICH_VILLAGE]
    assert rows(kf_service.bot, "SELECT COUNT(*) AS n FROM cases") == [{"n": 0}]


async def test_a_notice_for_an_account_not_configured_pulls_nothing(kf_service, standin):
    standin.add_kf_account("wkSomeoneElse")
    await post(kf_service, standin.kf_customer_message("wkSomeoneElse", RESIDENT, "你好"))
    await kf_service.bot.settle()
    assert rows(kf_service.bot, "SELECT status FROM app_events") == [{"status": "done"}]
    assert [r for r in standin.requests if r.endpoint == "kf_sync_msg"] == []


async def test_a_reply_wecom_refuses_as_outside_its_window_is_held_not_parked(kf_service, standin):
    from bot.sandbox.standin import ERR_KF_QUOTA
    standin.fail_next("kf_send_msg", ERR_KF_QUOTA)                   # WeCom saw the window otherwise
    await kf_say(kf_service, standin, "你好", village="城南村")
    assert kf_replies(standin) == []
    assert rows(kf_service.bot, "SELECT status FROM outbox WHERE kind = 'kf'") == [{"status": "held"}]
    assert [r["reason"] for r in rows(kf_service.bot, "SELECT reason FROM kf_held")] == ["refused"]
    assert not any("停止发送" in app_text(m) for m in standin.app_messages)   # nothing parked, nobody alarmed
    await kf_say(kf_service, standin, "在吗")
    held, greeting = kf_replies(standin)
    assert held.startswith("您之前的消息") and "有事直接说" in held and "有事直接说" in greeting
