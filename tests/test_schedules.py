"""The daily routine for the sample town, with an injected clock: duty notices, 正能量, and once-only runs across
restarts, second instances and late starts."""
from __future__ import annotations

import pytest

import asyncio

from bot import data, news as news_pool
from bot.app import Bot
from bot.jobs import Scheduler
from bot.roster import parse, save
from schedules import duty_notice
from tests.conftest import CHENGNAN_ROBOT, new_bot, robot_texts, rows
from tests.schedule_helpers import private, rotation, run_at, started

VILLAGE_ROBOTS = ("robot-key-chengnan", "robot-key-shuanghong", "robot-key-gaofeng", "robot-key-nandajie")
SECRETARIES = ("cn-zhang", "sh-huang", "gf-lei", "nd-wang")


def import_example_roster(bot: Bot) -> None:
    text = data("roster.example.csv").read_text(encoding="utf-8")
    roster, errors = parse(bot.config, text)
    assert errors == []
    bot.store.write_sync(save, roster)


async def test_duty_notice_names_todays_cadre_post_phone_and_where_to_ask(config, clock, standin):
    bot = await started(config, clock)
    import_example_roster(bot)
    await run_at(bot, clock, "duty_notice", "2026-12-01T08:00+08:00")
    [notice] = robot_texts(standin)
    assert notice.startswith("【值班公告】12月1日（周二）")
    assert "文书陈芳 13900000013" in notice                      # rotation: 李明 11-30, 陈芳 12-01
    assert "#小程序://基层小微权力监督/城南村" in notice and "私聊小微" in notice
    assert standin.robot_messages[CHENGNAN_ROBOT][0]["text"]["mentioned_list"] == ["cn-chen"]
    assert "曾勇" in robot_texts(standin, "robot-key-shuanghong")[0]
    assert "小程序" not in robot_texts(standin, "robot-key-shuanghong")[0]   # none configured there
    assert standin.app_messages == []
    await run_at(bot, clock, "duty_notice", "2026-12-05T08:00+08:00")   # an explicit day beats the rotation
    assert "村委会主任李明" in robot_texts(standin)[-1] and "文书陈芳" in robot_texts(standin)[-1]
    await bot.stop()


async def test_the_duty_notice_says_when_a_holiday_stops_the_counting_of_days(config, clock, standin):
    bot = await started(config, clock)
    rotation(bot, "城南村", "cn-li")
    await run_at(bot, clock, "duty_notice", "2026-12-01T08:00+08:00")     # no holiday this week: not a word
    assert "办理时限" not in robot_texts(standin)[-1]
    await run_at(bot, clock, "duty_notice", "2026-09-28T08:00+08:00")
    assert robot_texts(standin)[-1].endswith(
        "国庆假期（10月1日至7日）不计入办理时限；10月10日（周六）调休上班，照常计算。")
    await run_at(bot, clock, "duty_notice", "2026-02-10T08:00+08:00")     # 春节: its Saturday working days count
    assert "春节假期（2月15日至23日）不计入办理时限；2月14日（周六）、2月28日（周六）调休上班" in robot_texts(standin)[-1]
    await bot.stop()


async def test_no_roster_means_no_empty_notice_and_the_secretary_is_told(config, clock, standin):
    bot = await started(config, clock)
    await run_at(bot, clock, "duty_notice", "2026-12-01T08:00+08:00")
    assert standin.robot_messages == {}
    for userid in SECRETARIES:
        [told] = private(standin, userid)
        assert told.startswith("【值班未排】") and "12月1日（周二）" in told
    await bot.stop()


def small_pool(tmp_path, n: int):
    directory = tmp_path / "news"
    directory.mkdir()
    lines = [f'{{"title": "好消息{i}", "body": "第{i}条正文。"}}' for i in range(1, n + 1)]
    (directory / "pool.jsonl").write_text("\n".join(lines), encoding="utf-8")
    return directory


async def test_news_never_repeats_in_a_group_and_warns_before_the_pool_runs_dry(config, clock, standin, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.setattr(news_pool, "NEWS_DIR", small_pool(tmp_path, 9))
    bot = await started(config, clock)
    for day in range(1, 11):
        await run_at(bot, clock, "news", f"2026-12-{day:02d}T09:00+08:00")
    for key in VILLAGE_ROBOTS:
        texts = robot_texts(standin, key)
        assert len(texts) == 9 and len(set(texts)) == 9                  # day 10: nothing rather than a repeat
        assert texts[0] == "【正能量】好消息1\n第1条正文。"
    alerts = private(standin, "xian-it-wang")
    assert alerts[0] == ("【小微告警】翠江镇的正能量信息只够 7 天了。"
                         "请镇里用“xiaowei news add”补充，或把新内容放进 data/news/。")
    assert len(alerts) == 9                                              # days 2-10, once a day
    assert "已用完" in alerts[-1]
    await bot.stop()


async def test_news_items_go_out_only_on_their_dates_and_to_their_villages(config, clock, standin, tmp_path,
                                                                           monkeypatch):
    directory = tmp_path / "news"
    directory.mkdir()
    (directory / "pool.toml").write_text("""
[[items]]
title = "医保缴费最后一天"
body = "今天是缴费最后一天。"
valid_until = 2026-12-01
[[items]]
title = "元旦假期安全提醒"
body = "元旦出行注意安全。"
valid_from = 2026-12-04
valid_until = 2026-12-31
[[items]]
title = "双虹村的好人好事"
body = "邱大姐照看留守老人。"
villages = ["双虹村"]
[[items]]
title = "反诈提醒"
body = "不点陌生链接。"
""", encoding="utf-8")
    monkeypatch.setattr(news_pool, "NEWS_DIR", directory)
    bot = await started(config, clock)
    for day in ("2026-12-02", "2026-12-03", "2026-12-04"):
        await run_at(bot, clock, "news", f"{day}T09:00+08:00")
    titles = {key: [t.splitlines()[0] for t in robot_texts(standin, key)] for key in VILLAGE_ROBOTS}
    assert titles["robot-key-chengnan"] == ["【正能量】反诈提醒", "【正能量】元旦假期安全提醒"]   # nothing new on 12-03
    assert titles["robot-key-shuanghong"] == ["【正能量】双虹村的好人好事", "【正能量】反诈提醒",
                                              "【正能量】元旦假期安全提醒"]
    assert all("医保缴费最后一天" not in t for ts in titles.values() for t in ts)   # its day had passed
    await bot.stop()


def test_a_news_item_with_its_dates_the_wrong_way_round_is_refused():
    with pytest.raises(news_pool.NewsError, match="不能早于"):
        news_pool.item({"title": "标题", "body": "正文", "valid_from": "2026-12-05", "valid_until": "2026-12-01"},
                       "pool.toml 第 1 条")


async def test_the_shipped_pool_is_loaded_once_and_fits_a_phone(config, clock, standin):
    bot = await started(config, clock)
    await run_at(bot, clock, "news", "2026-12-01T09:00+08:00")
    await run_at(bot, clock, "news", "2026-12-02T09:00+08:00")
    [(count,)] = [tuple(r.values()) for r in rows(bot, "SELECT COUNT(*) FROM news")]
    assert count >= 30
    first, second = robot_texts(standin)
    assert first.startswith("【正能量】") and first != second
    assert all(len(t.encode()) < 1000 for t in robot_texts(standin))
    await bot.stop()


# --- once and only once ---------------------------------------------------------------------------------

async def test_a_restart_in_the_middle_finishes_the_rest_and_repeats_nothing(config, clock, standin):
    clock.set("2026-12-01T08:00:00+08:00")
    bot = await started(config, clock)
    context = bot.jobs.context(bot.jobs.find("duty_notice"), clock.now())
    villages = list(config.villages())
    for village in villages[:2]:          # the first two committed, then the machine died
        await context.once(village.name, lambda db, out, v=village: duty_notice.post(db, out, v, context.day))
    await bot.settle()
    await bot.stop()

    clock.set("2026-12-01T08:05:00+08:00")
    bot = await started(config, clock)
    # The customer-group checks (07:30, 07:40) are within the window too; they find no customer group here.
    assert await Scheduler(bot.jobs, config).catch_up() == ["duty_notice", "identity", "customer_stats", "digest",
                                                            "monthly_report"]
    await bot.jobs.run("duty_notice")     # and the cron firing on top of it
    await bot.settle()
    assert [len(private(standin, s)) for s in SECRETARIES] == [1, 1, 1, 1]
    assert len(rows(bot, "SELECT * FROM job_runs WHERE job = 'duty_notice'")) == 4
    await bot.stop()


async def test_two_instances_on_one_database_post_once(config, clock, standin):
    clock.set("2026-12-01T08:00:00+08:00")
    first, second = new_bot(config, clock), new_bot(config, clock)
    await first.start(background=False)
    await second.start(background=False)
    import_example_roster(first)
    await asyncio.gather(first.jobs.run("duty_notice"), second.jobs.run("duty_notice"))
    await first.settle()
    await second.settle()
    assert {key: len(robot_texts(standin, key)) for key in VILLAGE_ROBOTS} == dict.fromkeys(VILLAGE_ROBOTS, 1)
    await first.stop()
    await second.stop()


async def test_a_late_start_within_the_window_catches_up_once(config, clock, standin):
    clock.set("2026-12-01T08:40:00+08:00")            # down at 08:00, back at 08:40
    bot = await started(config, clock)
    import_example_roster(bot)
    scheduler = Scheduler(bot.jobs, config)
    due = ["duty_notice", "identity", "customer_stats", "digest", "monthly_report"]   # not news (09:00), nags (09:30)
    assert await scheduler.catch_up() == due
    await bot.settle()
    assert len(robot_texts(standin)) == 1
    assert await scheduler.catch_up() == due   # a second start-up the same morning
    await bot.settle()
    assert len(robot_texts(standin)) == 1
    assert [r["ran_at"] for r in rows(bot, "SELECT ran_at FROM job_runs WHERE job = 'duty_notice' "
                                           "AND target = '城南村'")] == ["2026-12-01T08:40:00+08:00"]
    await bot.stop()


async def test_a_start_after_the_window_does_not_post_a_stale_notice(config, clock, standin):
    clock.set("2026-12-01T11:00:00+08:00")
    bot = await started(config, clock)
    import_example_roster(bot)
    # 08:00 jobs are 3 h late, news exactly 2 h (the window is 120 min); nags at 09:30 are still in time, and
    # so are the customer groups' send (09:10) and its check (10:30), which have no customer group here, and the
    # 公开提醒 at 09:40 (privately to cadres, never into a group).
    assert await Scheduler(bot.jobs, config).catch_up() == ["group_send", "group_send_check", "nags", "publicity"]
    await bot.settle()
    assert robot_texts(standin) == []
    assert rows(bot, "SELECT * FROM job_runs WHERE job IN ('duty_notice', 'news', 'digest')") == []
    await bot.stop()


async def test_a_failing_village_is_reported_and_the_others_still_get_their_notice(config, clock, standin,
                                                                                     monkeypatch):
    bot = await started(config, clock)
    import_example_roster(bot)
    real = duty_notice.post

    def broken_for_gaofeng(db, out, village, day, *cadres):
        if village.name == "高峰村":
            raise RuntimeError("磁盘满了")
        real(db, out, village, day, *cadres)
    monkeypatch.setattr(duty_notice, "post", broken_for_gaofeng)
    await run_at(bot, clock, "duty_notice", "2026-12-01T08:00+08:00")
    assert robot_texts(standin, "robot-key-gaofeng") == []
    assert all(robot_texts(standin, k) for k in VILLAGE_ROBOTS if k != "robot-key-gaofeng")
    [alert] = private(standin, "xian-it-wang")
    assert "值班公告" in alert and "高峰村" in alert and "磁盘满了" in alert
    # Not marked as run: fixed and re-run the same morning, 高峰村 gets its notice.
    monkeypatch.setattr(duty_notice, "post", real)
    await run_at(bot, clock, "duty_notice", "2026-12-01T08:30+08:00")
    assert len(robot_texts(standin, "robot-key-gaofeng")) == 1 and len(robot_texts(standin)) == 1
    await bot.stop()


async def test_the_scheduler_puts_each_job_at_its_configured_time(config, clock):
    bot = await started(config, clock)
    scheduler = Scheduler(bot.jobs, config)
    scheduler.start(catch_up=False)
    times = {job.id: (job.next_run_time.hour, job.next_run_time.minute, str(job.next_run_time.tzinfo))
             for job in scheduler.aps.get_jobs()}
    # Unposted drafts are looked at every hour, at the nags' minute (the next hour depends on the real time).
    assert times.pop("draft_nags")[1:] == (30, "Asia/Shanghai")
    assert times == {"duty_notice": (8, 0, "Asia/Shanghai"), "news": (9, 0, "Asia/Shanghai"),
                     "group_send": (9, 10, "Asia/Shanghai"), "group_send_check": (10, 30, "Asia/Shanghai"),
                     "nags": (9, 30, "Asia/Shanghai"), "publicity": (9, 40, "Asia/Shanghai"),
                     "digest": (8, 0, "Asia/Shanghai"), "monthly_report": (8, 0, "Asia/Shanghai"),
                     "identity": (7, 30, "Asia/Shanghai"), "customer_stats": (7, 40, "Asia/Shanghai")}
    await scheduler.stop()
    await bot.stop()
