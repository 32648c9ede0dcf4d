"""正能量: one positive item a day in every group, never the same one twice in a group; the admins hear
days before a town's pool runs dry, so the township can add more in time."""
from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from bot.config import Village
from bot.outbound import Outgoing
from schedules import news_pool
from schedules.jobs import Job, JobContext, report_error

LOW_DAYS = 7   # alert when a group has this many days of items left, or fewer


async def run(context: JobContext) -> None:
    try:
        await context.bot.store.write(news_pool.load_dir, context.at)
    except news_pool.NewsError as exc:
        await report_error(context.bot, context.job, context.day, "data/news", exc)   # the pool in the DB still works
    for village in context.config.villages():
        await context.once(village.name, lambda db, out, v=village: post(db, out, v, context.day))
    await context.bot.commit(lambda db, out: warn_if_low(db, out, context), key=f"job:news:low:{context.day}")


def post(db: Database, out: Outgoing, village: Village, day: date) -> None:
    chosen = news_pool.next_for(db, village.name)
    if chosen is None:
        return   # nothing new to say beats a repeat; warn_if_low has told the admins
    out.group(village, news_pool.NewsItem(chosen["title"], chosen["body"], chosen["source"]).text())
    db.execute("INSERT INTO news_posts (news_id, village, day, posted_at) VALUES (?, ?, ?, ?)",
               [chosen["id"], village.name, day.isoformat(), out.now.isoformat()])


def warn_if_low(db: Database, out: Outgoing, context: JobContext) -> None:
    for town in context.config.towns:
        left = min(news_pool.remaining(db, v.name) for v in town.villages)
        if left > LOW_DAYS:
            continue
        text = (f"{town.name}的正能量信息已用完，今天起有的群收不到。" if left == 0 else
                f"{town.name}的正能量信息只够 {left} 天了。")
        out.alert_admins(f"news-low:{town.name}:{context.day.isoformat()}",
                         text + "请镇里用“xiaowei news add”补充，或把新内容放进 data/news/。")


JOB = Job("news", "正能量推送", lambda config: config.schedule.news, run)
