"""正能量: one positive item a day in every group, never the same one twice in a group; the admins hear
days before a town's pool runs dry, so the township can add more in time."""
from __future__ import annotations

from datetime import date

from sqlite_utils import Database

from bot import news as news_pool
from bot.config import Village
from bot.context import JobContext
from bot.jobs import Job
from bot.outbound import Outgoing

LOW_DAYS = 7   # alert when a group has this many days of items left, or fewer


async def run(ctx: JobContext) -> None:
    try:
        await ctx.commit(lambda db, out: news_pool.load_dir(db, ctx.at))
    except news_pool.NewsError as exc:   # the pool already in the database still works
        text = f"正能量信息文件有误：{exc}"
        await ctx.commit(lambda db, out: out.alert_admins(f"news-file:{ctx.day}", text))
    await ctx.once_many([(v.name, lambda db, out, v=v: post(db, out, v, ctx.day)) for v in ctx.config.villages()])
    await ctx.commit(lambda db, out: warn_if_low(db, out, ctx), key=f"job:news:low:{ctx.day}")


def post(db: Database, out: Outgoing, village: Village, day: date) -> None:
    chosen = news_pool.next_for(db, village.name, day)
    if chosen is None:
        return   # nothing new to say beats a repeat; warn_if_low has told the admins
    out.group(village, news_pool.NewsItem(chosen["title"], chosen["body"], chosen["source"]).text(), post="morning")
    db["news_posts"].insert({"news_id": chosen["id"], "village": village.name, "day": day.isoformat(),
                             "posted_at": out.now.isoformat()})


def warn_if_low(db: Database, out: Outgoing, ctx: JobContext) -> None:
    for town in ctx.config.towns:
        left = min(news_pool.remaining(db, v.name, ctx.day) for v in town.villages)
        if left > LOW_DAYS:
            continue
        text = (f"{town.name}的正能量信息已用完，今天起有的群收不到。" if left == 0 else
                f"{town.name}的正能量信息只够 {left} 天了。")
        out.alert_admins(f"news-low:{town.name}:{ctx.day.isoformat()}",
                         text + "请镇里用“xiaowei news add”补充，或把新内容放进 data/news/。")


JOB = Job("news", "正能量推送", lambda config: config.schedule.news, run)
