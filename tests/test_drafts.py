"""Drafts that close the loop (issue 11, 3b): a customer group's answer goes to the duty cadre to paste; the chat
archive shows the cadre posting it (as given or edited), which marks it posted and is the case's first response;
a draft nobody posts is pressed on the cadre, then up the ladder, each rung once."""
from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import TZ
from bot.drafts import Draft, is_posting
from tests.conftest import rows, start_service, stop_service
from tests.finance_sdk.build import finance_sdk_build  # noqa: F401  (a fixture)
from tests.finance_sdk.feed import text_message
from tests.schedule_helpers import change, open_case, private, rotation, run_at
from tests.test_archive_reader import feed, with_archive  # noqa: F401  (feed: a fixture)
from tests.test_group_kinds import kinds

LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人来修一下"


def ms(when: str) -> int:
    return int(datetime.fromisoformat(when).timestamp() * 1000)


def drafts_of(bot) -> list[dict]:
    return rows(bot, "SELECT id, village, case_id, purpose, status, posted_at, posted_msgid, posted_by, text "
                     "FROM group_posts WHERE kind = 'draft' ORDER BY id")


@pytest.fixture
async def customer(config, clock, feed, finance_sdk_build):
    """城南村 as a customer group heard through the chat archive (the C stand-in SDK); 李明 on duty."""
    svc = await start_service(with_archive(kinds(config, 城南村="customer"), feed, finance_sdk_build.library), clock)
    rotation(svc.bot, "城南村", "cn-li")
    yield svc
    await stop_service(svc)


async def pull(bot) -> None:
    await bot.archive.pull_once()
    await bot.settle()


def test_a_post_is_the_draft_when_it_names_the_case_and_keeps_half_its_words_or_keeps_most_without_it():
    text = "收到您说的“村口那盏路灯坏了一个多星期了…”，已登记，编号 103，12月4日（周五）前答复您。村委会主任李明负责跟进。"
    draft = Draft(1, "城南村", text, datetime(2026, 12, 1, 9, tzinfo=TZ), 3, "103", "intake", ("cn-li",))
    assert is_posting(draft, text)                                               # pasted as given
    assert is_posting(draft, "@邱阿婆 " + text)                                   # with a mention added
    assert is_posting(draft, f"【请发到城南村群】复制下面这段，发到群里：\n{text}")       # with the line of how
    assert is_posting(draft, "@邱阿婆 收到您说的路灯坏了，已登记，编号 103，12月4日前答复您，李明负责跟进。")  # edited
    assert is_posting(draft, text.replace("编号 103，", ""))                       # number deleted, words kept
    assert not is_posting(draft, "收到，路灯的事我们下午去看看。")                       # the cadre's own words
    assert not is_posting(draft, "编号 103 明天派电工来")                              # the number alone
    assert not is_posting(draft, text.replace("103", "1035"))                     # another number
    assert not is_posting(draft, "收到您说的，已登记，12月4日前答复您。")                 # too little, no number


async def test_the_cadre_pasting_the_draft_marks_it_posted_and_it_is_the_cases_first_response(customer, feed, standin):
    bot = customer.bot
    feed.add(1, text_message("r1", LAMP, msgtime=ms("2026-12-01T09:00+08:00")))
    await pull(bot)
    [case] = rows(bot, "SELECT c.id, c.number, s.first_response_at FROM cases c JOIN case_state s ON s.case_id = c.id")
    assert case["first_response_at"] is None
    [handed] = [t for t in private(standin, "cn-li") if t.startswith("【请发到城南村群】")]
    [draft] = drafts_of(bot)
    assert (draft["case_id"], draft["purpose"], draft["status"]) == (case["id"], "intake", "waiting")
    assert draft["text"] in handed

    # A resident repeating it, or a cadre of another village, is not the village's cadre posting it.
    feed.add_many([(2, text_message("r2", draft["text"], msgtime=ms("2026-12-01T09:10+08:00"), sender="wmOther")),
                   (3, text_message("c0", draft["text"], msgtime=ms("2026-12-01T09:15+08:00"), sender="sh-huang"))])
    await pull(bot)
    assert drafts_of(bot)[0]["status"] == "waiting"

    # The cadre pastes it, a little edited, with the resident @-mentioned.
    edited = "@邱阿婆 " + draft["text"].replace("已登记，", "已经登记了，")
    feed.add(4, text_message("c1", edited, msgtime=ms("2026-12-01T09:20+08:00"), sender="cn-li"))
    asked_before = len(private(standin, "cn-li"))
    await pull(bot)
    [posted] = drafts_of(bot)
    assert (posted["status"], posted["posted_msgid"], posted["posted_by"]) == ("posted", "c1", "cn-li")
    assert posted["posted_at"] == datetime(2026, 12, 1, 9, 20, tzinfo=TZ).isoformat()
    [state] = rows(bot, "SELECT first_response_at FROM case_state WHERE case_id = ?", [case["id"]])
    assert state["first_response_at"] == datetime(2026, 12, 1, 9, 20, tzinfo=TZ).isoformat()
    [event] = rows(bot, "SELECT actor FROM events WHERE case_id = ? AND action = 'responded'", [case["id"]])
    assert event["actor"] == "cn-li"
    # Taken as the draft, not as a fresh reply: the cadre is not asked whether it is done.
    assert len(private(standin, "cn-li")) == asked_before

    # The same words again (pasted twice) mark nothing more; a later claim's draft is its own.
    feed.add(5, text_message("c2", edited, msgtime=ms("2026-12-01T09:25+08:00"), sender="cn-li"))
    await pull(bot)
    assert [d["posted_msgid"] for d in drafts_of(bot)] == ["c1"]
    # Posted in time: never pressed. And the inspectors' digest counts the 20 minutes it took.
    await run_at(bot, customer.bot.clock, "draft_nags", "2026-12-02T16:00+08:00")
    assert not [t for t in private(standin, "cn-li") if t.startswith("【草稿未发")]
    await run_at(bot, customer.bot.clock, "digest", "2026-12-03T08:00+08:00")
    assert any("首次响应中位 20分钟" in t for t in private(standin, "zjw-hu"))


async def test_a_later_posted_draft_supersedes_an_earlier_one_and_keeps_the_first_response(customer, feed):
    bot = customer.bot
    feed.add(1, text_message("r1", LAMP, msgtime=ms("2026-12-01T09:00+08:00")))
    await pull(bot)
    [case] = rows(bot, "SELECT number FROM cases")
    village = bot.config.village_by_name("城南村")
    stored = rows(bot, "SELECT id FROM cases")[0]["id"]
    # The cadre claims it privately (a command to the app, not in the group): a second draft, the claim.
    await bot.commit(lambda db, out: out.group(village, f"编号 {case['number']} 已由村委会主任李明认领办理，"
                                                        "12月4日（周五）前答复。", case_id=stored, purpose="claim"))
    claim = drafts_of(bot)[1]
    feed.add(2, text_message("c1", claim["text"], msgtime=ms("2026-12-01T10:00+08:00"), sender="cn-li"))
    await pull(bot)
    assert [d["status"] for d in drafts_of(bot)] == ["superseded", "posted"]


async def test_an_unposted_draft_is_pressed_on_the_cadre_then_up_the_ladder_each_rung_once(config, clock, standin):
    config = kinds(config, 城南村="customer")
    village = config.village_by_name("城南村")
    standin.add_customer_group(village.chat_id, name="城南村群", owner=village.group_owner)
    service = await start_service(config, clock)
    bot = service.bot
    try:
        rotation(bot, "城南村", "cn-li")
        clock.set("2026-12-01T09:00:00+08:00")
        case = open_case(bot, received="2026-12-01T09:00:00+08:00", text=LAMP)
        answer = f"编号 {case.number} 已办结：电工已经换好灯泡，今晚就亮。"
        await bot.commit(lambda db, out: out.group(village, answer, case_id=case.id, purpose="result"))
        await bot.settle()
        # The morning's one group send carries the morning's posts only, never a cadre's draft.
        await run_at(bot, clock, "group_send", "2026-12-01T09:10+08:00")
        [task] = rows(bot, "SELECT payload FROM outbox WHERE kind = 'groupsend'")
        assert "换好灯泡" not in task["payload"]

        def nags(userid):
            return [t for t in private(standin, userid) if t.startswith("【草稿未发")]

        await run_at(bot, clock, "draft_nags", "2026-12-01T12:30+08:00")      # 3½ working hours: still in time
        assert nags("cn-li") == []
        await run_at(bot, clock, "draft_nags", "2026-12-01T13:30+08:00")      # past 4 working hours
        [first] = nags("cn-li")
        assert "还没有发到城南村群里" in first and answer in first and "办结答复" in first
        await run_at(bot, clock, "draft_nags", "2026-12-01T14:30+08:00")      # once, not every run
        assert len(nags("cn-li")) == 1 and nags("cn-zhang") == []
        await run_at(bot, clock, "draft_nags", "2026-12-01T18:30+08:00")      # after hours: nothing at all
        assert nags("cn-zhang") == []
        await run_at(bot, clock, "draft_nags", "2026-12-02T08:40+08:00")      # 4⅔ h past: the secretary
        [secretary] = nags("cn-zhang")
        assert "请督促" in secretary and "李明" in secretary and case.number in secretary
        await run_at(bot, clock, "draft_nags", "2026-12-02T12:30+08:00")      # 8½ h past: the link leader
        assert len(nags("zf-liu")) == 1 and len(nags("cn-zhang")) == 1 and len(nags("cn-li")) == 1
        await run_at(bot, clock, "draft_nags", "2026-12-02T17:00+08:00")      # 13 h past: the inspectors
        assert len(nags("zjw-hu")) == 1 and "纪委" in nags("zjw-hu")[0]
        await run_at(bot, clock, "draft_nags", "2026-12-03T10:00+08:00")
        assert [len(nags(u)) for u in ("cn-li", "cn-zhang", "zf-liu", "zjw-hu")] == [1, 1, 1, 1]
        assert {r["rung"] for r in rows(bot, "SELECT rung FROM draft_nags")} == {"duty", "secretary", "leader",
                                                                                 "inspectors"}
    finally:
        await stop_service(service)


async def test_the_draft_of_a_case_dismissed_meanwhile_is_not_pressed(config, clock, standin):
    config = kinds(config, 城南村="customer")
    village = config.village_by_name("城南村")
    service = await start_service(config, clock)
    bot = service.bot
    try:
        rotation(bot, "城南村", "cn-li")
        case = open_case(bot, received="2026-12-01T09:00:00+08:00", text=LAMP)
        await bot.commit(lambda db, out: out.group(village, f"编号 {case.number} 进展：电工明天来",
                                                    case_id=case.id, purpose="progress"))
        change(bot, case, "2026-12-01T09:30:00+08:00", status="dismissed")
        await run_at(bot, clock, "draft_nags", "2026-12-02T16:00+08:00")
        assert not [t for t in private(standin, "cn-li") if t.startswith("【草稿未发")]
        assert [d["status"] for d in drafts_of(bot)] == ["superseded"]
    finally:
        await stop_service(service)
