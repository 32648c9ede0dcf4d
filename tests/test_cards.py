"""Cadres tap instead of type: the new-case alert is an app template card (认领 · 转镇里 · 查看); a tap acts as the
typed command would, and greys the card out; a tap by someone who may not act changes nothing."""
from __future__ import annotations

from bot.channels.cards import tap_command
from bot.sandbox.standin import app_text
from tests.conftest import CHENGNAN_ROBOT, robot_texts, rows

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的老人走路怕摔，麻烦派人来修一下"


async def open_lamp_case(service, standin) -> str:
    assert (await service.aibot(standin, text=LAMP)).status == 200
    await service.bot.settle()
    [task_id] = [t for t, c in standin.cards.items() if "cn-zhang" in c["userids"]]
    return task_id


async def post(service, sealed) -> None:
    assert (await service.post("/wecom/app", *sealed)).status == 200
    await service.bot.settle()


def tap_from(standin, userid: str, task_id: str, key: str, code: str = "code-outsider"):
    """A template_card_event as WeCom would send it for this member (the stand-in's card_tap only lets the
    card's own recipients tap)."""
    return standin.app_event({"Event": "template_card_event", "EventKey": key, "TaskId": task_id,
                              "CardType": "button_interaction", "ResponseCode": code, "AgentID": standin.agent_id},
                             from_user=userid)


def private(standin, userid: str) -> list[str]:
    return [app_text(m) for m in standin.app_messages if m["touser"] == userid]


def state(service) -> dict:
    return rows(service.bot, "SELECT s.assignee, s.level, s.status FROM case_state s")[0]


async def test_the_alert_is_a_card_with_three_buttons(service, standin):
    task_id = await open_lamp_case(service, standin)
    card = standin.cards[task_id]["card"]
    assert card["card_type"] == "button_interaction"
    assert [(b["text"], b["key"]) for b in card["button_list"]] == [
        ("认领", "claim:101"), ("转镇里", "up:101"), ("查看", "show:101")]
    assert "新诉求 101" in card["main_title"]["title"] and "路灯" in card["sub_title_text"]


async def test_tapping_claim_claims_the_case_and_greys_the_card(service, standin):
    task_id = await open_lamp_case(service, standin)
    await post(service, standin.card_tap(task_id, "cn-zhang", "claim:101"))
    assert state(service)["assignee"] == "cn-zhang"
    assert "已由党支部书记张建认领办理" in robot_texts(standin, CHENGNAN_ROBOT)[-1]     # as if typed
    assert private(standin, "cn-zhang")[-1].startswith("已认领 101")
    [update] = standin.card_updates
    assert (update["task_id"], update["button"]["replace_name"], update["userids"]) == (task_id, "已认领", ["cn-zhang"])
    assert standin.cards[task_id]["greyed"] == {"cn-zhang": "已认领"}
    assert [r.errcode for r in standin.requests if r.endpoint == "update_template_card"] == [0]
    # The tap is on record like a typed command.
    [msg] = rows(service.bot, "SELECT channel, text, sender, status FROM messages WHERE channel = 'card'")
    assert (msg["text"], msg["sender"], msg["status"]) == ("认领 101", "cn-zhang", "done")


async def test_tapping_up_passes_it_to_the_town_and_show_only_answers(service, standin):
    task_id = await open_lamp_case(service, standin)
    await post(service, standin.card_tap(task_id, "cn-zhang", "show:101"))
    assert private(standin, "cn-zhang")[-1].startswith("编号 101｜城南村")
    assert standin.card_updates == [] and state(service)["level"] == "village"   # 查看 changes nothing
    await post(service, standin.card_tap(task_id, "cn-zhang", "up:101"))
    assert state(service)["level"] == "town"
    assert "已转镇里办理" in robot_texts(standin, CHENGNAN_ROBOT)[-1]
    assert [u["button"]["replace_name"] for u in standin.card_updates] == ["已转镇里"]


async def test_an_outsiders_tap_is_refused_privately_and_changes_nothing(service, standin):
    task_id = await open_lamp_case(service, standin)
    before = len(robot_texts(standin, CHENGNAN_ROBOT))
    await post(service, tap_from(standin, "sh-huang", task_id, "claim:101", "code-1"))    # another village's cadre
    assert private(standin, "sh-huang") == ["编号 101 是城南村的诉求，您没有办理权限。"]
    await post(service, tap_from(standin, "resident-9", task_id, "claim:101", "code-2"))  # not staff at all
    assert private(standin, "resident-9")[0].startswith("这个命令只有本村干部")
    assert state(service)["assignee"] is None
    assert standin.card_updates == [] and len(robot_texts(standin, CHENGNAN_ROBOT)) == before


async def test_a_retried_tap_callback_folds(service, standin):
    task_id = await open_lamp_case(service, standin)
    sealed = standin.card_tap(task_id, "cn-zhang", "claim:101")
    await post(service, sealed)
    await post(service, sealed)                                      # WeCom's retry of the same callback
    assert rows(service.bot, "SELECT kind, status FROM app_events") == [{"kind": "card", "status": "done"}]
    assert len(standin.card_updates) == 1
    assert rows(service.bot, "SELECT COUNT(*) AS n FROM events WHERE action = 'claimed'") == [{"n": 1}]


async def test_typed_commands_still_work_beside_the_card(service, standin):
    await open_lamp_case(service, standin)
    assert (await service.aibot(standin, text="认领 101", userid="cn-zhang")).status == 200
    await service.bot.settle()
    assert state(service)["assignee"] == "cn-zhang" and standin.card_updates == []


async def test_a_group_change_is_stored_and_handed_over(service, standin):
    await post(service, standin.group_change("wrCustomerGroup", "update", "add_member"))
    assert rows(service.bot, "SELECT kind, status FROM app_events") == [{"kind": "group", "status": "done"}]


def test_only_our_keys_become_commands():
    assert tap_command("claim:101") == "认领 101"
    assert tap_command("up:102").startswith("上报 102 ")
    assert tap_command("show:7") == "查看 7"
    assert tap_command("claim:J2026-001") is None and tap_command("delete:101") is None and tap_command("") is None


async def test_a_tap_without_its_response_code_is_refused_and_not_stored(service, standin):
    sealed = standin.app_event({"Event": "template_card_event", "EventKey": "claim:101", "TaskId": "case1",
                                "CardType": "button_interaction", "ResponseCode": "", "AgentID": standin.agent_id},
                               from_user="cn-zhang")
    assert (await service.post("/wecom/app", *sealed)).status == 400
    assert rows(service.bot, "SELECT * FROM app_events") == []


async def test_an_event_time_no_clock_holds_is_a_400(service, standin):
    sealed = standin.seal_app_xml(standin._event_xml(
        {"Event": "template_card_event", "EventKey": "claim:101", "TaskId": "case1", "ResponseCode": "c1"},
        from_user="cn-zhang").replace(f"<CreateTime>{int(standin.clock.now().timestamp())}</CreateTime>",
                                      "<CreateTime>99999999999999999999</CreateTime>"))
    assert (await service.post("/wecom/app", *sealed)).status == 400


async def test_a_tap_on_a_card_whose_case_moved_on_changes_nothing_and_greys_it(service, standin):
    task_id = await open_lamp_case(service, standin)
    await post(service, standin.seal_app(userid="cn-li", text="认领 101"))     # another cadre typed it first
    await post(service, standin.card_tap(task_id, "cn-zhang", "claim:101"))
    assert state(service)["assignee"] == "cn-li"
    assert private(standin, "cn-zhang")[-1] == "编号 101 已由村委会主任李明认领。"
    assert [u["button"]["replace_name"] for u in standin.card_updates] == ["已认领"]
    await post(service, standin.seal_app(userid="cn-li", text="上报 101 需要镇里协调"))
    # A tap that was on its way before the card greyed (WeCom would send it with a live code of its own):
    await post(service, tap_from(standin, "cn-zhang", task_id, "up:101", "code-old"))
    assert state(service)["level"] == "town"                                # not passed up a second time
    assert private(standin, "cn-zhang")[-1] == "编号 101 已转镇里办理。"
    assert standin.cards[task_id]["greyed"] == {"cn-zhang": "已认领"}


async def test_a_card_that_went_out_before_a_crash_is_not_sent_again_nor_alerted_as_undelivered(service, standin):
    """WeCom took the card, then the process died before marking its row: the row is pending again at the restart.
    Sent again, WeCom refuses the task_id it already knows (42014), which says the card is there: the row is
    marked sent, one card stays one card, and the admins are not told of a message that was delivered (it was
    parked, and the admins alerted)."""
    task_id = await open_lamp_case(service, standin)
    [card_row] = rows(service.bot, "SELECT id FROM outbox WHERE target = 'cn-zhang' AND payload LIKE '%template_card%'")
    await service.bot.store.write(lambda db: db.execute(
        "UPDATE outbox SET status = 'pending', sent_at = NULL WHERE id = ?", [card_row["id"]]))
    await service.bot.outbox.drain()
    assert [r.errcode for r in standin.requests if r.endpoint == "message" and r.target == "cn-zhang"][-1] == 42014
    assert [t for t, c in standin.cards.items() if "cn-zhang" in c["userids"]] == [task_id]
    assert rows(service.bot, "SELECT status FROM outbox WHERE id = ?", [card_row["id"]]) == [{"status": "sent"}]
    assert rows(service.bot, "SELECT COUNT(*) AS n FROM outbox WHERE status = 'parked'") == [{"n": 0}]
    assert rows(service.bot, "SELECT key FROM alerts WHERE key LIKE 'outbox-parked:%'") == []
