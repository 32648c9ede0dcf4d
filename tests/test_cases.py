"""Cases through the real service: intake, reports, commands with their permissions, follow-ups and ratings."""
from __future__ import annotations

import sqlite3
from dataclasses import replace

from bot import audit, ledger
from bot.storage import connect
from bot.sandbox.standin import app_text
from tests.conftest import CHENGNAN_ROBOT, robot_texts, rows, start_service, stop_service

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的老人走路怕摔，麻烦派人来修一下"
CHENGNAN_CADRES = {"cn-zhang", "cn-li", "cn-chen"}


async def say(service, standin, text: str, userid: str = "resident-1", **kw):
    resp = await service.aibot(standin, text=text, userid=userid, **kw)
    assert resp.status == 200
    await service.bot.settle()


def last_response(standin) -> str:
    return list(standin.response_posts.values())[-1]["markdown"]["content"]


def private_to(standin, userid: str) -> list[str]:
    return [app_text(m) for m in standin.app_messages if m["touser"] == userid]


def case_row(bot, number: str = "101") -> dict:
    return rows(bot, "SELECT c.number, c.kind AS intake_kind, s.* FROM cases c JOIN case_state s ON s.case_id = c.id "
                     "WHERE number = ?", [number])[0]


async def test_a_request_opens_a_case_and_the_group_gets_one_line_with_number_and_due_date(service, standin):
    await say(service, standin, LAMP)   # Tue 2026-12-01: help, 3 working days → Fri 12-04
    [answer] = robot_texts(standin)
    # The matter in the resident's own words, when, and who — and the resident is @-mentioned, not only the cadre.
    assert answer == ("收到您说的“村口那盏路灯坏了一个多星期了，…”，已登记，编号 101，12月4日（周五）前答复您。"
                      "党支部书记张建负责跟进。")
    [group_msg] = standin.robot_messages[CHENGNAN_ROBOT]
    assert group_msg["text"]["mentioned_list"] == ["resident-1", "cn-zhang"]   # no roster: the party secretary
    [alert] = private_to(standin, "cn-zhang")
    assert "新诉求 101" in alert and "路灯" in alert
    row = case_row(service.bot)
    assert (row["status"], row["level"], row["due_at"]) == ("open", "village", "2026-12-04T23:59:59+08:00")
    assert "resident-1" not in answer


async def test_duty_cadre_from_the_roster_is_mentioned(service, standin):
    service.bot.store.write_sync(lambda db: db.execute(
        "INSERT INTO duty_roster (village, day, userid) VALUES ('城南村', '2026-12-01', 'cn-chen')"))
    await say(service, standin, LAMP)
    assert standin.robot_messages[CHENGNAN_ROBOT][0]["text"]["mentioned_list"] == ["resident-1", "cn-chen"]
    assert private_to(standin, "cn-chen") and not private_to(standin, "cn-zhang")


async def test_chatter_gets_no_reply_and_opens_nothing(service, standin):
    await say(service, standin, "大家早上好[玫瑰][玫瑰]")
    assert standin.robot_messages == {} and standin.response_posts == {} and standin.app_messages == []
    assert rows(service.bot, "SELECT * FROM cases") == []


async def test_a_low_confidence_request_goes_to_the_duty_cadre_to_confirm(config, clock, standin):
    service = await start_service(replace(config, rules=replace(config.rules, confidence_threshold=1.0)), clock)
    try:
        await say(service, standin, LAMP)
        assert robot_texts(standin) == []                      # not answered in the group yet
        [ask] = private_to(standin, "cn-zhang")
        assert "疑似诉求 101" in ask and "确认 101" in ask
        assert case_row(service.bot)["status"] == "unconfirmed"
        await say(service, standin, "确认 101", userid="cn-zhang")
        assert "编号 101" in robot_texts(standin)[0]
        assert case_row(service.bot)["status"] == "open"
    finally:
        await stop_service(service)


async def test_a_report_goes_only_to_the_inspectors_and_into_the_ledger(service, standin):
    text = "村主任把今年的低保名额给了他自己的亲戚，他们家有车有楼房，请纪委来查一查"
    await say(service, standin, text)
    for userid in CHENGNAN_CADRES | {"zf-liu"}:
        assert private_to(standin, userid) == []
    assert all("低保名额" not in t for t in robot_texts(standin))
    thanks = last_response(standin)
    assert "镇纪委" in thanks and "低保" not in thanks
    for inspector in ("zjw-hu", "zjw-ren"):
        [clue] = private_to(standin, inspector)
        assert "问题线索 J2026-001" in clue and "低保名额" in clue
    ledger = rows(service.bot, "SELECT action, detail FROM events ORDER BY id")
    assert [e["action"] for e in ledger] == ["opened", "forwarded"] and "zjw-hu" in ledger[1]["detail"]


async def test_village_cadres_cannot_see_or_touch_a_clue(service, standin):
    await say(service, standin, "村会计贪污了修路的钱，账上做了假，我要举报")
    for verb in ("查看 J2026-001", "办结 J2026-001 已处理", "认领 J2026-001", "线索 J2026-001 受理"):
        await say(service, standin, f"{verb}", userid="cn-li")                  # in the group: one line
        assert last_response(standin) == "请私聊小微办理。"
        await say(service, standin, f"{verb}", userid="cn-li", chattype="single", chatid=None)
        assert last_response(standin) == "没有找到这个编号。"                   # privately: it does not exist
    await say(service, standin, "查询 J2026-001", userid="resident-2")
    assert "J2026-001" not in last_response(standin)
    await say(service, standin, "办结 J2026-001 已约谈，情况属实，已责令退回", userid="zjw-hu")
    assert last_response(standin) == "请私聊小微办理。"                          # even an inspector, in a group
    assert case_row(service.bot, "J2026-001")["status"] == "open"
    # Privately, an inspector closes a clue through its ledger, with a finding, not with free text.
    await say(service, standin, "办结 J2026-001 已约谈，情况属实，已责令退回", userid="zjw-hu", chattype="single",
              chatid=None)
    assert last_response(standin).startswith("线索要按台账的步骤办结")
    assert case_row(service.bot, "J2026-001")["status"] == "open"
    for step in ("受理", "谈话函询 约谈村会计", "办结 属实 已责令退回"):
        await say(service, standin, f"线索 J2026-001 {step}", userid="zjw-hu", chattype="single", chatid=None)
    assert case_row(service.bot, "J2026-001")["status"] == "answered"


async def test_claim_progress_finish_and_the_result_reaches_the_requester_in_the_group(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, "认领 101", userid="cn-li")
    # News for the residents, not an order to the cadre.
    assert robot_texts(standin)[-1] == "编号 101 已由村委会主任李明认领办理，12月4日（周五）前答复。"
    await say(service, standin, "进展 101 已联系电工，明天上午来换灯泡", userid="cn-li")
    await say(service, standin, "办结 101 路灯已换好，晚上亮了", userid="cn-li")
    finished = standin.robot_messages[CHENGNAN_ROBOT][-1]["text"]
    assert "编号 101 已办结：路灯已换好" in finished["content"] and finished["mentioned_list"] == ["resident-1"]
    row = case_row(service.bot)
    assert (row["status"], row["assignee"]) == ("answered", "cn-li") and row["first_response_at"]


async def test_only_the_villages_own_cadres_town_staff_and_inspectors_may_act(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, "认领 101", userid="sh-huang")          # another village's secretary
    assert "没有办理权限" in last_response(standin)
    await say(service, standin, "办结 101 好了", userid="resident-9")   # a resident
    assert "只有本村干部" in last_response(standin)
    await say(service, standin, "认领 101", userid="zf-liu")            # town staff (link leader)
    assert "已由副镇长刘贤认领办理" in robot_texts(standin)[-1]
    await say(service, standin, "督办 101 请尽快", userid="cn-zhang")   # only inspectors supervise
    assert "督办只能由镇纪委" in last_response(standin)
    await say(service, standin, "督办 101 群众反映强烈，请三天内办好", userid="zjw-hu")
    assert case_row(service.bot)["supervised"] == 1


async def test_a_typo_gets_the_usage_line(service, standin):
    await say(service, standin, "办结", userid="cn-li")
    assert last_response(standin) == "用法：办结 编号 办理结果"
    await say(service, standin, "上报 101", userid="cn-li")
    assert last_response(standin) == "用法：上报 编号 原因"


async def test_pass_up_to_the_town_then_the_town_returns_it(service, standin, clock):
    await say(service, standin, LAMP)
    clock.advance(days=1)                                                   # Wed 12-02
    await say(service, standin, "上报 101 线路老化要整村改造，村里没有这笔钱", userid="cn-zhang")
    row = case_row(service.bot)
    assert (row["level"], row["due_at"]) == ("town", "2026-12-07T23:59:59+08:00")   # 3 working days from Wed
    assert any("上报 101" in t for t in private_to(standin, "zf-liu"))
    assert any("上报 101" in t for t in private_to(standin, "zjw-hu"))
    await say(service, standin, "退回 101 属于供电所维修范围，请村里联系供电所", userid="zf-liu")
    assert case_row(service.bot)["level"] == "village"
    assert any("退回 101" in t for t in private_to(standin, "cn-zhang"))


async def test_relabel_is_stored_as_a_correction(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, "改类 101 建议", userid="cn-li")
    assert rows(service.bot, "SELECT old_label, label, text FROM corrections") == [
        {"old_label": "help", "label": "suggestion", "text": LAMP}]
    assert case_row(service.bot)["kind"] == "suggestion"
    assert case_row(service.bot)["intake_kind"] == "help"                 # intake facts never change


async def test_followup_status_and_ratings(service, standin):
    await say(service, standin, LAMP)
    await say(service, standin, "查询 101")
    assert "编号 101（求助）：办理中" in last_response(standin)
    await say(service, standin, "办结 101 路灯已换好", userid="cn-li")
    await say(service, standin, "不满意 101 换了还是不亮")
    assert "重新办理" in last_response(standin)
    assert case_row(service.bot)["status"] == "open"
    assert any("群众不满意 101" in t for t in private_to(standin, "cn-zhang"))
    assert any("群众不满意 101" in t for t in private_to(standin, "zjw-hu"))
    await say(service, standin, "办结 101 线路也换了，已经亮了", userid="cn-li")
    await say(service, standin, "满意 101", userid="resident-2")     # not the requester
    assert "只有提出这件诉求的群众本人" in last_response(standin)
    await say(service, standin, "满意 101")
    row = case_row(service.bot)
    assert (row["status"], row["rating"]) == ("closed", "满意")


async def test_audit_catches_edited_deleted_and_reordered_events(service, standin, config):
    await say(service, standin, LAMP)
    await say(service, standin, "认领 101", userid="cn-li")
    await say(service, standin, "办结 101 修好了", userid="cn-li")
    db = connect(config.storage_path)
    assert audit.verify(db, ledger.signing_key(config)) == []

    def tamper(sql: str) -> list[str]:
        raw = sqlite3.connect(config.storage_path)
        raw.executescript("DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;"
                          "DROP TRIGGER IF EXISTS cases_no_update;" + sql)
        raw.close()
        return audit.verify(connect(config.storage_path), ledger.signing_key(config))

    backup = connect(config.storage_path)
    snapshot = list(backup.query("SELECT * FROM events ORDER BY id"))
    edited = tamper("UPDATE events SET detail = replace(detail, '修好了', '早就修好了') WHERE action = 'answered';")
    assert any("被改动" in p for p in edited)

    def restore() -> None:
        raw = sqlite3.connect(config.storage_path)
        raw.execute("DELETE FROM events")
        raw.executemany("INSERT INTO events VALUES (:id, :case_id, :at, :actor, :action, :detail, :prev_hash, :hash)",
                        snapshot)
        raw.commit()
        raw.close()
    restore()
    assert audit.verify(connect(config.storage_path), ledger.signing_key(config)) == []
    deleted = tamper("DELETE FROM events WHERE action = 'claimed';")
    assert any("接不上" in p for p in deleted)
    restore()
    a, b = snapshot[1], snapshot[2]
    reordered = tamper(f"UPDATE events SET id = -1 WHERE id = {a['id']}; UPDATE events SET id = {a['id']} "
                       f"WHERE id = {b['id']}; UPDATE events SET id = {b['id']} WHERE id = -1;")
    assert any("接不上" in p for p in reordered)
    restore()
    assert audit.verify(connect(config.storage_path), ledger.signing_key(config)) == []
    edited_case = tamper("UPDATE cases SET text = '没什么事' WHERE number = '101';")
    assert any("登记内容" in p for p in edited_case)


async def test_events_and_cases_refuse_updates_and_deletes(service, standin):
    await say(service, standin, LAMP)
    for sql in ("UPDATE events SET actor = 'x'", "DELETE FROM events", "UPDATE cases SET text = 'x'"):
        try:
            service.bot.store.write_sync(lambda db: db.execute(sql))
        except sqlite3.IntegrityError as exc:
            assert "append-only" in str(exc)
        else:
            raise AssertionError(f"{sql} was allowed")


async def test_corrections_are_exported_for_training(service, standin, tmp_path):
    from datetime import date
    import json
    from bot.corrections import export
    await say(service, standin, LAMP)
    await say(service, standin, "改类 101 建议", userid="cn-li")
    await say(service, standin, "改类 101 求助", userid="cn-zhang")          # the latest label wins
    path, count = service.bot.store.read_sync(lambda db: export(db, tmp_path, date(2026, 12, 1)))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert count == 1 and lines[0]["label"] == "help" and lines[0]["text"] == LAMP
    assert path.name == "2026-12-01.jsonl"


async def test_cases_listing_filters_and_never_lists_clues(service, standin, clock):
    import io
    import json
    from datetime import timedelta
    from bot.cli.cases import print_cases
    await say(service, standin, LAMP)
    await say(service, standin, "村会计贪污了修路的钱，账上做了假，我要举报")
    await say(service, standin, "请问低保每年什么时候重新评，要准备哪些材料", chatid="wrkSFfCgAAcnshuanghong")

    def listing(**kw) -> str:
        out = io.StringIO()
        now = clock.now() + timedelta(days=kw.get("later", 0))
        service.bot.store.read_sync(lambda db: print_cases(db, now, out, village=kw.get("village"),
                                                          status=kw.get("status"), as_json=kw.get("as_json", False)))
        return out.getvalue()
    assert "J" not in listing() and "101" in listing() and "102" in listing()   # no gap where the clue was
    assert [json.loads(l)["village"] for l in listing(village="双虹村", as_json=True).splitlines()] == ["双虹村"]
    assert listing(status="overdue") == "没有符合条件的诉求。\n"
    assert "【超期】" in listing(status="overdue", later=10)


async def test_a_village_without_a_link_leader_still_tells_the_town_staff_on_a_pass_up(config, clock, standin):
    town = config.towns[0]
    villages = tuple(replace(v, link_leader=None) if v.name == "城南村" else v for v in town.villages)
    service = await start_service(replace(config, towns=(replace(town, villages=villages),)), clock)
    try:
        await say(service, standin, LAMP)
        await say(service, standin, "上报 101 线路老化要整村改造，村里没有这笔钱", userid="cn-zhang")
        assert any("上报 101" in t for t in private_to(standin, "zf-liu"))      # the town's staff
        assert any("上报 101" in t for t in private_to(standin, "zjw-hu"))      # and the inspectors
    finally:
        await stop_service(service)
