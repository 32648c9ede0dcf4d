"""Command bodies for the daily routine, as plain functions that bot/cli.py wires to argparse:
`roster import`, `news add`, `news status`, `run-job`, `jobs`."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlite_utils import Database

from bot.clock import TZ, FakeClock
from bot.config import Config
from bot.workdays import WorkCalendar
from schedules import news_pool, roster
from schedules.jobs import find_job, next_run, registry, slot


def roster_import_main(config: Config, db: Database, path: str, out: TextIO, err: TextIO) -> int:
    try:
        text = roster.read_text(Path(path))
    except OSError as exc:
        print(f"错误：打不开 {path}（{exc.strerror}）", file=err)
        return 2
    parsed, errors = roster.parse(config, text)
    if errors:
        print(f"值班表有 {len(errors)} 处错误，未导入任何内容：", file=err)
        print("\n".join(f"  {e}" for e in errors), file=err)
        return 1
    with db.atomic():
        roster.save(db, parsed)
    lines = roster.summary(config, parsed)
    print("值班表已导入：" if lines else "文件里没有值班记录。", file=out)
    print("\n".join(f"  {line}" for line in lines), file=out)
    return 0


def news_add_main(db: Database, now: datetime, out: TextIO, err: TextIO, *, file: str | None = None,
                  title: str | None = None, body: str | None = None, source: str = "") -> int:
    try:
        if file:
            items = news_pool.read_file(Path(file))
        elif title and body:
            items = [news_pool.item({"title": title, "body": body, "source": source}, "这条信息")]
        else:
            print("用法：xiaowei news add FILE（.toml 或 .jsonl），或 --title 标题 --body 正文 [--source 来源]", file=err)
            return 2
    except (news_pool.NewsError, OSError) as exc:
        print(f"错误：{exc}", file=err)
        return 1
    with db.atomic():
        added = news_pool.add(db, items, now)
    print(f"已加入正能量信息库 {added} 条" + (f"（{len(items) - added} 条已存在，未重复加入）" if added < len(items) else "")
          + "。", file=out)
    return 0


def news_status_main(config: Config, db: Database, out: TextIO) -> int:
    with db.atomic():
        news_pool.load_dir(db, datetime.now(TZ))
    for town in config.towns:
        print(f"{town.name}：", file=out)
        for village in town.villages:
            print(f"  {village.name}：还剩 {news_pool.remaining(db, village.name)} 条未发", file=out)
    return 0


def jobs_main(config: Config, now: datetime, out: TextIO, db: Database | None = None,
              calendar: WorkCalendar | None = None) -> int:
    for job in registry().values():
        done = ""
        if db is not None:
            count = db.execute("SELECT COUNT(*) FROM job_runs WHERE job = ? AND day = ?",
                               [job.name, now.date().isoformat()]).fetchone()[0]
            done = f"  今天已完成 {count} 个对象" if count else "  今天尚未运行"
        at = next_run(job, config, now)
        while job.name == "nags" and calendar is not None and not calendar.is_workday(at.date()):
            at = next_run(job, config, at + timedelta(seconds=1))   # nags wait for a working day
        print(f"{job.name:<12} {job.title}  每天 {job.when(config):%H:%M}  下次 {at:%Y-%m-%d %H:%M}{done}", file=out)
    print("（催办只在工作日的上班时间发出。）", file=out)
    return 0


def run_job_main(config: Config, name: str, at_str: str | None, out: TextIO, err: TextIO) -> int:
    job = find_job(name)
    if job is None:
        print(f"错误：没有名为 {name} 的任务，可选：{'、'.join(registry())}", file=err)
        return 2
    try:
        at = datetime.fromisoformat(at_str.strip()) if at_str else None
    except ValueError:
        print(f"错误：无法识别时间 {at_str}，请写成 2026-12-01T08:00+08:00", file=err)
        return 2
    at = (at.replace(tzinfo=TZ) if at and at.tzinfo is None else at) or slot(job, config, datetime.now(TZ).date())
    return asyncio.run(_run(config, job.name, at.astimezone(TZ), out))


async def _run(config: Config, name: str, at: datetime, out: TextIO) -> int:
    from bot.app import Bot
    from schedules.jobs import run_job
    bot = Bot(config, clock=FakeClock(at))
    await bot.start(background=False)
    try:
        before = await bot.store.read(_outbox_count)
        await run_job(bot, name, at)
        queued = await bot.store.read(_outbox_count) - before
        await bot.settle()
        left = await bot.store.read(lambda db: db.execute(
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending'").fetchone()[0])
    finally:
        await bot.stop()
    print(f"已按 {at:%Y-%m-%d %H:%M} 运行 {name}：新增 {queued} 条消息"
          + (f"，{left} 条待发（限速或失败重试，服务运行时会继续发送）" if left else "，已全部发出") + "。", file=out)
    return 0


def _outbox_count(db: Database) -> int:
    return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
