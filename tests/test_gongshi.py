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
