"""The customer-group, 微信客服 and tap-card clients against the stand-in over loopback HTTP."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.channels import cards, customer, kf
from bot.channels.app_events import parse_app_event
from bot.channels.wecom import WeComClient, WeComError
from bot.clock import ManualClock
from bot.config import WeCom
from bot.crypto import CallbackCrypto
from bot.sandbox.standin import (ERR_CARD_CODE, ERR_KF_QUOTA, ERR_KF_TOKEN, ERR_REMIND_LIMIT, ERR_STATS_RANGE,
                                 WeComStandIn)

CHAT, OTHER_CHAT = "wrChengnanVillage", "wrShuanghongVillage"
OWNER, KF_ID = "cadre-zhang", "wkVillageDesk"


@pytest.fixture
async def client(standin: WeComStandIn, clock: ManualClock) -> AsyncIterator[WeComClient]:
    config = WeCom(corp_id=standin.corp_id, agent_id=standin.agent_id, secret=standin.corp_secret,
                   api_base=standin.url)
    async with aiohttp.ClientSession() as session:
        yield WeComClient(session, config, clock)


@pytest.fixture
def village(standin: WeComStandIn) -> None:
    standin.add_customer_group(CHAT, name="城南村村民群", owner=OWNER, members=[
        {"userid": OWNER, "type": 1, "group_nickname": "村委张主任", "name": "张伟"},
        {"userid": "wmResidentLi", "type": 2, "group_nickname": "李阿姨", "name": "李秀英"}])
    standin.add_customer_group(OTHER_CHAT, name="双虹村村民群", owner="cadre-wang")


def opened(standin: WeComStandIn, sealed: tuple[dict[str, str], bytes]) -> dict[str, str]:
    """What the bot's app callback sees after checking and decrypting WeCom's POST."""
    crypto = CallbackCrypto(standin.app_token, standin.app_aes_key, standin.corp_id)
    return crypto.open_app_xml(*sealed)


# -- customer groups ---------------------------------------------------------------------------
@pytest.mark.usefixtures("village")
async def test_members_with_nicknames(client: WeComClient) -> None:
    group = await customer.groupchat_members(client, CHAT)
    assert (group.name, group.owner) == ("城南村村民群", OWNER)
    assert [(m.userid, m.group_nickname, m.name, m.is_external) for m in group.members] == [
        (OWNER, "村委张主任", "张伟", False), ("wmResidentLi", "李阿姨", "李秀英", True)]
    assert all(m.join_time is not None for m in group.members)
    unnamed = await customer.groupchat_members(client, CHAT, need_name=False)
    assert [m.name for m in unnamed.members] == ["", ""]
    assert await customer.list_customer_groups(client, owners=[OWNER]) == [CHAT]
    assert sorted(await customer.list_customer_groups(client)) == sorted([CHAT, OTHER_CHAT])
    with pytest.raises(WeComError):
        await customer.groupchat_members(client, "wrNoSuchGroup")


@pytest.mark.usefixtures("village")
async def test_group_send_waits_for_the_owner_and_is_delivered_once(client: WeComClient,
                                                                    standin: WeComStandIn) -> None:
    msgid = await customer.create_group_send(client, OWNER, [CHAT], "明天上午9点村委会停水，请提前储水。")
    status = await customer.group_send_status(client, msgid)
    assert not status.confirmed and [t.status for t in status.tasks] == [customer.NOT_SENT]
    assert status.results == () and standin.customer_group_messages == {}
    standin.confirm_group_send(msgid, OWNER)
    status = await customer.group_send_status(client, msgid)
    assert status.confirmed and status.tasks[0].send_time is not None
    assert status.delivered == (CHAT,) and status.results[0].userid == OWNER
    assert [m["text"] for m in standin.customer_group_messages[CHAT]] == ["明天上午9点村委会停水，请提前储水。"]
    with pytest.raises(ValueError):
        standin.confirm_group_send(msgid, OWNER)       # one tap, one delivery
    assert len(standin.customer_group_messages[CHAT]) == 1
    assert (standin.requests[1].endpoint, standin.requests[1].target) == ("add_msg_template", CHAT)


@pytest.mark.usefixtures("village")
async def test_the_daily_quota_refuses_a_second_send(client: WeComClient, standin: WeComStandIn,
                                                     clock: ManualClock) -> None:
    first = await customer.create_group_send(client, OWNER, [CHAT], "第一条通知")
    second = await customer.create_group_send(client, OWNER, [CHAT], "第二条通知")
    standin.confirm_group_send(first, OWNER)
    assert standin.confirm_group_send(second, OWNER) == {CHAT: customer.QUOTA_SPENT}
    status = await customer.group_send_status(client, second)
    assert status.confirmed and status.delivered == () and status.over_quota == (CHAT,)
    assert [m["text"] for m in standin.customer_group_messages[CHAT]] == ["第一条通知"]
    clock.advance(days=1)
    third = await customer.create_group_send(client, OWNER, [CHAT], "第三条通知")
    standin.confirm_group_send(third, OWNER)
    assert [m["text"] for m in standin.customer_group_messages[CHAT]] == ["第一条通知", "第三条通知"]


@pytest.mark.usefixtures("village")
async def test_group_send_refusals(client: WeComClient, standin: WeComStandIn) -> None:
    with pytest.raises(WeComError) as too_long:
        await customer.create_group_send(client, OWNER, [CHAT], "村" * 1334)   # 4002 bytes
    assert too_long.value.errcode == 40058
    assert await customer.create_group_send(client, OWNER, [CHAT], "村" * 1333)  # 3999 bytes
    with pytest.raises(WeComError):
        await customer.create_group_send(client, OWNER, [OTHER_CHAT], "不是你的群")
    msgid = await customer.create_group_send(client, OWNER, [CHAT], "取消的通知")
    await customer.cancel_group_send(client, msgid)
    with pytest.raises(ValueError):
        standin.confirm_group_send(msgid, OWNER)
    assert standin.customer_group_messages == {}


@pytest.mark.usefixtures("village")
async def test_remind_at_most_three_times_a_day(client: WeComClient, clock: ManualClock) -> None:
    msgid = await customer.create_group_send(client, OWNER, [CHAT], "请群主确认发送")
    for _ in range(3):
        await customer.remind_group_send(client, msgid)
        clock.advance(hours=1)
    with pytest.raises(WeComError) as over:
        await customer.remind_group_send(client, msgid)
    assert over.value.errcode == ERR_REMIND_LIMIT
    clock.advance(hours=21)                             # 24 h after the first reminder
    await customer.remind_group_send(client, msgid)


async def test_group_stats_per_owner_and_day(client: WeComClient, standin: WeComStandIn,
                                             clock: ManualClock) -> None:
    today = clock.now().date()
    yesterday, before = today - timedelta(days=1), today - timedelta(days=2)
    standin.set_group_stats(OWNER, yesterday, chat_total=3, member_total=120, msg_total=45, new_member_cnt=2)
    standin.set_group_stats("cadre-wang", yesterday, chat_total=1, member_total=80, msg_total=5)
    standin.set_group_stats(OWNER, before, chat_total=3, member_total=118, msg_total=30)
    stats = await customer.group_stats(client, [OWNER, "cadre-wang"], yesterday)
    assert stats[OWNER].msg_total == 45 and stats[OWNER].new_member_cnt == 2
    assert stats["cadre-wang"] == customer.GroupStats(chat_total=1, member_total=80, msg_total=5)
    by_day = await customer.group_stats_by_day(client, [OWNER], before, yesterday)
    assert {d: s.msg_total for d, s in by_day.items()} == {before: 30, yesterday: 45}
    with pytest.raises(WeComError) as today_asked:
        await customer.group_stats(client, [OWNER], today)
    assert today_asked.value.errcode == ERR_STATS_RANGE
    with pytest.raises(WeComError):
        await customer.group_stats(client, [OWNER], today - timedelta(days=181))


def test_group_change_callback_parses(standin: WeComStandIn) -> None:
    event = parse_app_event(opened(standin, standin.group_change(CHAT, "update", "add_member",
                                                                   MemChangeCnt=2)))
    assert isinstance(event, customer.GroupChange)
    assert (event.chat_id, event.change_type, event.update_detail) == (CHAT, "update", "add_member")


# -- 微信客服 ------------------------------------------------------------------------------------
async def test_kf_sync_pulls_every_page_and_carries_the_scene_param(client: WeComClient,
                                                                   standin: WeComStandIn) -> None:
    standin.add_kf_account(KF_ID)
    link = await kf.kf_link(client, KF_ID, "village", scene_param="城南村")
    assert "?enc_scene=" in link and link.endswith("&scene_param=%E5%9F%8E%E5%8D%97%E6%9D%91")
    standin.kf_customer_message(KF_ID, "wmResidentLi", "路灯坏了", scene="village", scene_param="城南村")
    standin.kf_customer_message(KF_ID, "wmResidentLi", voice_media_id="media-voice-1")
    notice = parse_app_event(opened(standin, standin.kf_customer_message(KF_ID, "wmResidentLi", "在村口")))
    assert isinstance(notice, kf.KfNotice) and notice.open_kfid == KF_ID and notice.token
    messages, cursor = await kf.kf_sync(client, KF_ID, "", notice.token, limit=2)
    assert [m.msgtype for m in messages] == ["event", "text", "voice", "text"]
    assert (messages[0].event_type, messages[0].scene, messages[0].scene_param) == ("enter_session", "village",
                                                                                    "城南村")
    assert [m.text for m in messages if m.msgtype == "text"] == ["路灯坏了", "在村口"]
    assert messages[2].media_id == "media-voice-1" and all(m.from_customer for m in messages[1:])
    assert len([r for r in standin.requests if r.endpoint == "kf_sync_msg"]) == 2   # two pages of two
    sealed = standin.kf_customer_message(KF_ID, "wmResidentLi", "谢谢")
    newer, _ = await kf.kf_sync(client, KF_ID, cursor, opened(standin, sealed)["Token"])
    assert [m.text for m in newer] == ["谢谢"]


async def test_kf_token_lives_ten_minutes(client: WeComClient, standin: WeComStandIn,
                                          clock: ManualClock) -> None:
    standin.add_kf_account(KF_ID)
    token = opened(standin, standin.kf_customer_message(KF_ID, "wmResidentLi", "你好"))["Token"]
    clock.advance(minutes=9, seconds=59)
    assert len((await kf.kf_sync(client, KF_ID, "", token))[0]) == 1
    clock.advance(seconds=1)
    with pytest.raises(WeComError) as expired:
        await kf.kf_sync(client, KF_ID, "", token)
    assert expired.value.errcode == ERR_KF_TOKEN
    with pytest.raises(WeComError):
        await kf.kf_sync(client, KF_ID, "", "forged-token")


async def test_kf_reply_window_is_five_messages_in_48_hours(client: WeComClient, standin: WeComStandIn,
                                                            clock: ManualClock) -> None:
    standin.add_kf_account(KF_ID)
    with pytest.raises(WeComError) as never_wrote:
        await kf.kf_send(client, KF_ID, "wmResidentLi", "您好")
    assert never_wrote.value.errcode == ERR_KF_QUOTA
    standin.kf_customer_message(KF_ID, "wmResidentLi", "低保怎么申请")
    for i in range(5):
        assert await kf.kf_send(client, KF_ID, "wmResidentLi", f"第{i + 1}条回复")
    with pytest.raises(WeComError) as sixth:
        await kf.kf_send(client, KF_ID, "wmResidentLi", "第6条回复")
    assert sixth.value.errcode == ERR_KF_QUOTA
    standin.kf_customer_message(KF_ID, "wmResidentLi", "还有问题")          # re-opens the window
    await kf.kf_send(client, KF_ID, "wmResidentLi", "请讲")
    clock.advance(hours=48)
    with pytest.raises(WeComError):
        await kf.kf_send(client, KF_ID, "wmResidentLi", "两天后才回")
    assert [m["text"]["content"] for m in standin.kf_sent["wmResidentLi"]][-1] == "请讲"
    assert len(standin.kf_sent["wmResidentLi"]) == 6


async def test_kf_unknown_account(client: WeComClient) -> None:
    with pytest.raises(WeComError) as unknown:
        await kf.kf_link(client, "wkNobody", "village")
    assert unknown.value.errcode == 95000


# -- tap-cards -----------------------------------------------------------------------------------
async def test_card_tap_parses_and_the_button_greys_once(client: WeComClient, standin: WeComStandIn) -> None:
    buttons = [cards.CardButton("认领", "claim-2026-0012"), cards.CardButton("办结", "close-2026-0012")]
    sent = await cards.send_card(client, "cadre-zhang", "case-2026-0012", "新诉求：路灯坏了", "城南村 · 2026-0012",
                                 buttons)
    assert sent.response_code and standin.app_messages[-1]["msgtype"] == "template_card"
    tap = parse_app_event(opened(standin, standin.card_tap("case-2026-0012", "cadre-zhang", "claim-2026-0012")))
    assert isinstance(tap, cards.CardTap)
    assert (tap.userid, tap.task_id, tap.key, tap.card_type) == ("cadre-zhang", "case-2026-0012",
                                                                 "claim-2026-0012", "button_interaction")
    await cards.update_card(client, [tap.userid], tap.response_code, "已认领")
    assert standin.cards["case-2026-0012"]["greyed"] == {"cadre-zhang": "已认领"}
    with pytest.raises(WeComError) as again:
        await cards.update_card(client, [tap.userid], tap.response_code, "已认领")
    assert again.value.errcode == ERR_CARD_CODE
    with pytest.raises(ValueError):
        standin.card_tap("case-2026-0012", "cadre-zhang", "close-2026-0012")  # greyed: no second tap
    assert [r.endpoint for r in standin.requests if r.endpoint == "update_template_card"] == ["update_template_card"] * 2


async def test_card_code_expires_after_72_hours(client: WeComClient, standin: WeComStandIn,
                                                clock: ManualClock) -> None:
    sent = await cards.send_card(client, "cadre-zhang", "case-1", "新诉求", "城南村", [cards.CardButton("认领", "k")])
    clock.advance(hours=72)
    with pytest.raises(WeComError) as late:
        await cards.update_card(client, ["cadre-zhang"], sent.response_code, "已过期")
    assert late.value.errcode == ERR_CARD_CODE
    with pytest.raises(WeComError):                     # task_id is unique per app
        await cards.send_card(client, "cadre-zhang", "case-1", "新诉求", "城南村", [cards.CardButton("认领", "k")])


async def test_plain_app_text_answer_is_unchanged(client: WeComClient, standin: WeComStandIn) -> None:
    await client.send_app({"touser": "cadre-zhang", "msgtype": "text", "text": {"content": "你好"}})
    assert standin.requests[-1].endpoint == "message" and standin.requests[-1].errcode == 0


def test_other_app_xml_is_not_an_event_of_ours(standin: WeComStandIn) -> None:
    assert parse_app_event(opened(standin, standin.seal_app(userid="cadre-zhang", text="你好"))) is None
    assert parse_app_event({"MsgType": "event", "Event": "enter_agent"}) is None


# -- faults on the new endpoints -------------------------------------------------------------------
@pytest.mark.usefixtures("village")
async def test_fail_next_reaches_the_new_endpoints(client: WeComClient, standin: WeComStandIn) -> None:
    standin.fail_next("groupchat_get", -1)
    with pytest.raises(WeComError) as busy:
        await customer.groupchat_members(client, CHAT)
    assert busy.value.errcode == -1
    assert (await customer.groupchat_members(client, CHAT)).owner == OWNER
    standin.expire_tokens()                              # a dead token is refetched once, transparently
    assert (await customer.groupchat_members(client, CHAT)).name == "城南村村民群"
    assert [r.target for r in standin.requests if r.endpoint == "groupchat_get"] == [CHAT] * 4


def test_callback_shapes_follow_the_official_samples(standin: WeComStandIn) -> None:
    standin.add_kf_account(KF_ID)
    kf_xml = opened(standin, standin.kf_customer_message(KF_ID, "wmResidentLi", "你好"))
    assert set(kf_xml) == {"ToUserName", "CreateTime", "MsgType", "Event", "Token", "OpenKfId"}   # document/31078
    assert (kf_xml["ToUserName"], kf_xml["MsgType"], kf_xml["Event"]) == (standin.corp_id, "event", "kf_msg_or_event")
    change = opened(standin, standin.group_change(CHAT, "dismiss"))
    assert (change["FromUserName"], change["Event"], change["ChangeType"]) == ("sys", "change_external_chat", "dismiss")
