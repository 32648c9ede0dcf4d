"""The job wrapper: each daily job is a plain `async def run(context)`; APScheduler 3 only decides when.
Once-only lives in the database (job_runs, written with the job's outbox rows), not in the scheduler."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Awaitable, Callable, Sequence

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlite_utils import Database

from bot.clock import TZ
from bot.config import Config
from bot.outbound import Outgoing

if TYPE_CHECKING:
    from bot.app import Bot

log = logging.getLogger("xiaowei.schedules")


@dataclass(frozen=True)
class Job:
    name: str
    title: str                                  # what operators read in `xiaowei jobs` and in alerts
    when: Callable[[Config], time]
    run: Callable[["JobContext"], Awaitable[None]]


@dataclass
class JobContext:
    bot: "Bot"
    job: Job
    at: datetime                                # the moment the job runs "as of" (aware, Asia/Shanghai)

    @property
    def day(self) -> date:
        return self.at.date()

    @property
    def config(self) -> Config:
        return self.bot.config

    async def once(self, target: str, fn: Callable[[Database, Outgoing], object]) -> bool:
        """Run fn(db, out) for this target and day unless it already ran; the mark and the sends commit together.
        A failure is reported and swallowed so one village's problem never costs the others their post."""
        key = f"job:{self.job.name}:{target}:{self.day.isoformat()}"

        def tx(db: Database, out: Outgoing) -> bool:
            cursor = db.execute("INSERT OR IGNORE INTO job_runs (job, target, day, ran_at) VALUES (?, ?, ?, ?)",
                                [self.job.name, target, self.day.isoformat(), self.bot.clock.now().isoformat()])
            if not cursor.rowcount:
                return False
            fn(db, out)
            return True
        try:
            return await self.bot.commit(tx, key=key)
        except Exception as exc:  # noqa: BLE001 - the one error path for jobs
            await report_error(self.bot, self.job, self.day, target, exc)
            return False


async def report_error(bot: "Bot", job: Job, day: date, target: str, exc: BaseException) -> None:
    log.error("job %s failed for %s on %s", job.name, target, day, exc_info=exc)
    text = (f"定时任务「{job.title}」在{target}出错：{type(exc).__name__}: {exc}。"
            "其他村不受影响；这个村今天的这项任务没有完成，请查看日志。")
    with contextlib.suppress(Exception):   # the alert itself must not take the scheduler down
        await bot.commit(lambda db, out: out.alert_admins(f"job-error:{job.name}:{target}:{day}", text))


def registry() -> dict[str, Job]:
    from schedules import JOBS
    return {job.name: job for job in JOBS}


def find_job(name: str) -> Job | None:
    return registry().get(name.strip().replace("-", "_"))


async def run_job(bot: "Bot", name: str, at: datetime | None = None) -> None:
    """Run one job as of `at` (default: the bot's clock); used by the scheduler, the CLI and the tests."""
    job = find_job(name)
    if job is None:
        raise KeyError(f"没有名为 {name} 的定时任务，可选：{'、'.join(registry())}")
    at = (at or bot.clock.now()).astimezone(TZ)
    try:
        await job.run(JobContext(bot, job, at))
    except Exception as exc:  # noqa: BLE001 - a job's own bug goes to the same error path
        await report_error(bot, job, at.date(), "全部", exc)


def slot(job: Job, config: Config, day: date) -> datetime:
    return datetime.combine(day, job.when(config), tzinfo=TZ)


def trigger(job: Job, config: Config) -> CronTrigger:
    when = job.when(config)
    return CronTrigger(hour=when.hour, minute=when.minute, second=when.second, timezone=TZ)


def next_run(job: Job, config: Config, now: datetime) -> datetime:
    return trigger(job, config).get_next_fire_time(None, now)


class Scheduler:
    """APScheduler's AsyncIOScheduler with one cron entry per job, all through one trampoline."""

    def __init__(self, bot: "Bot", jobs: Sequence[Job] | None = None):
        self.bot = bot
        self.jobs = list(jobs if jobs is not None else registry().values())
        self.aps = AsyncIOScheduler(timezone=TZ)
        grace = max(60, bot.config.schedule.window_minutes * 60)
        for job in self.jobs:
            # coalesce + grace: a loop stalled past 08:00 runs the job once late rather than never or twice.
            self.aps.add_job(self._fire, trigger(job, bot.config), args=[job.name], id=job.name, name=job.title,
                             coalesce=True, max_instances=1, misfire_grace_time=grace)
        self._catch_up: asyncio.Task | None = None

    async def _fire(self, name: str) -> None:
        await run_job(self.bot, name, self.bot.clock.now())

    def due_for_catch_up(self, now: datetime) -> list[Job]:
        """Jobs whose slot today passed less than window_minutes ago: a late start still runs them, once."""
        window = timedelta(minutes=self.bot.config.schedule.window_minutes)
        return [job for job in self.jobs if timedelta(0) <= now - slot(job, self.bot.config, now.date()) < window]

    async def catch_up(self) -> list[str]:
        now = self.bot.clock.now()
        ran = []
        for job in self.due_for_catch_up(now):
            # Targets already done today are skipped inside the job (job_runs), so this never doubles a post.
            await run_job(self.bot, job.name, now)
            ran.append(job.name)
        return ran

    def start(self, *, catch_up: bool = True) -> None:
        self.aps.start()
        if catch_up:
            self._catch_up = asyncio.get_running_loop().create_task(self.catch_up(), name="schedules-catch-up")

    async def stop(self) -> None:
        if self._catch_up is not None:
            self._catch_up.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up
        if self.aps.running:
            self.aps.shutdown(wait=False)


async def start_scheduler(bot: "Bot", *, catch_up: bool = True) -> Scheduler:
    scheduler = Scheduler(bot)
    scheduler.start(catch_up=catch_up)
    return scheduler


async def stop_scheduler(scheduler: Scheduler | None) -> None:
    if scheduler is not None:
        await scheduler.stop()
