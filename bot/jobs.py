"""The job runner: each daily job is a plain `async def run(ctx)`; APScheduler 3 only decides when.
Once-only lives in the database (job_runs, written with the job's outbox rows), not in the scheduler, so a
restart, a second instance or a catch-up run sends nothing twice."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Awaitable, Callable, Sequence

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlite_utils import Database

from bot.clock import TZ, local
from bot.config import Config
from bot.context import Context, JobContext, Work
from bot.outbound import Outgoing
from bot.storage import insert_once

log = logging.getLogger("xiaowei.jobs")
CHUNK = 500     # targets per transaction in `once_many`: few fsyncs, and the writer is free between chunks


@dataclass(frozen=True)
class Job:
    name: str
    title: str                                  # what operators read in `xiaowei jobs` and in alerts
    when: Callable[[Config], time]
    run: Callable[[JobContext], Awaitable[None]]
    hourly: bool = False       # every hour at when's minute (the job itself keeps to working hours), not daily


class JobError(Exception):
    """A job failed for one target; carries the target so the alert can name it."""

    def __init__(self, job: Job, target: str, day: date, cause: BaseException):
        super().__init__(f"{job.title} · {target}: {type(cause).__name__}: {cause}")
        self.job, self.target, self.day, self.cause = job, target, day, cause


class JobRunner:
    """Runs jobs by name as of a moment. Failures go to the application's one error path (`failed`)."""

    def __init__(self, jobs: Sequence[Job], base: Context, failed: Callable[[JobError], Awaitable[None]]):
        self.jobs = {job.name: job for job in jobs}
        self.base, self._failed = base, failed

    def find(self, name: str) -> Job | None:
        return self.jobs.get(name.strip().replace("-", "_"))

    def context(self, job: Job, at: datetime) -> JobContext:
        shared = {f.name: getattr(self.base, f.name) for f in fields(Context)}
        return JobContext(**shared, job=job.name, at=at, once=lambda target, fn: self.once(job, at, target, fn),
                          once_many=lambda work, chunk=CHUNK: self.once_many(job, at, work, chunk))

    async def run(self, name: str, at: datetime | None = None) -> None:
        """Run one job as of `at` (default: now); used by the scheduler, the CLI and the tests."""
        job = self.find(name)
        if job is None:
            raise KeyError(f"没有名为 {name} 的定时任务，可选：{'、'.join(self.jobs)}")
        at = local(at or self.base.now)
        try:
            await job.run(self.context(job, at))
        except Exception as exc:  # noqa: BLE001 - a job's own bug goes to the same error path
            await self._failed(JobError(job, "全部", at.date(), exc))

    async def once(self, job: Job, at: datetime, target: str, fn: Work[object]) -> bool:
        """Run fn(db, out) for this target and day unless it already ran; the mark and the sends commit together.
        A failure is reported and swallowed, so one village's problem never costs the others their post."""
        day = at.date().isoformat()

        def tx(db: Database, out: Outgoing) -> bool:
            if not insert_once(db, "job_runs", {"job": job.name, "target": target, "day": day,
                                                "ran_at": self.base.now.isoformat()}, sealed=True):
                return False
            fn(db, out)
            return True
        try:
            return await self.base.commit(tx, key=f"job:{job.name}:{target}:{day}")
        except Exception as exc:  # noqa: BLE001 - reported; the other targets go on
            await self._failed(JobError(job, target, at.date(), exc))
            return False


    async def once_many(self, job: Job, at: datetime, work: Sequence[tuple[str, Work[object]]],
                        chunk: int = 500) -> list[str]:
        """`once` for many targets: each target's run mark and work commit together as before, but a chunk of
        targets shares one transaction (one fsync) instead of one each. Every target runs in its own savepoint,
        so a failing one rolls back alone, is reported, and the others still get their post. Returns the
        targets that ran now (not those done earlier today, nor the failed)."""
        day = at.date().isoformat()
        ran: list[str] = []
        for start in range(0, len(work), chunk):
            part = list(work[start:start + chunk])

            def tx(db: Database, out: Outgoing, part=part) -> list[tuple[str, BaseException | None]]:
                outcome: list[tuple[str, BaseException | None]] = []
                for target, fn in part:
                    try:
                        with db.atomic():           # a savepoint: this target alone rolls back if it fails
                            if not insert_once(db, "job_runs", {"job": job.name, "target": target, "day": day,
                                                                "ran_at": self.base.now.isoformat()}, sealed=True):
                                continue
                            # Each target keeps its own dedupe keys, exactly as if it had committed alone.
                            fn(db, out.sibling(f"job:{job.name}:{target}:{day}"))
                        outcome.append((target, None))
                    except Exception as exc:  # noqa: BLE001 - reported below; the other targets go on
                        outcome.append((target, exc))
                return outcome
            try:
                outcome = await self.base.commit(tx, key=f"job:{job.name}:{part[0][0]}…:{day}")
            except Exception as exc:  # noqa: BLE001 - the chunk's transaction itself failed: none of it is durable
                names = "、".join(target for target, _ in part[:3]) + (f"等 {len(part)} 个" if len(part) > 3 else "")
                await self._failed(JobError(job, names, at.date(), exc))
                continue
            for target, exc in outcome:
                if exc is None:
                    ran.append(target)
                else:
                    await self._failed(JobError(job, target, at.date(), exc))
        return ran


def slot(job: Job, config: Config, day: date) -> datetime:
    return datetime.combine(day, job.when(config), tzinfo=TZ)


def trigger(job: Job, config: Config) -> CronTrigger:
    when = job.when(config)
    return CronTrigger(hour="*" if job.hourly else when.hour, minute=when.minute, second=when.second, timezone=TZ)


def next_run(job: Job, config: Config, now: datetime) -> datetime:
    return trigger(job, config).get_next_fire_time(None, now)


class Scheduler:
    """APScheduler's AsyncIOScheduler with one cron entry per job, all through one trampoline."""

    def __init__(self, runner: JobRunner, config: Config):
        self.runner, self.config = runner, config
        self.aps = AsyncIOScheduler(timezone=TZ)
        grace = max(60, config.schedule.window_minutes * 60)
        for job in runner.jobs.values():
            # coalesce + grace: a loop stalled past 08:00 runs the job once late rather than never or twice.
            self.aps.add_job(self._fire, trigger(job, config), args=[job.name], id=job.name, name=job.title,
                             coalesce=True, max_instances=1, misfire_grace_time=grace)
        self._catch_up: asyncio.Task | None = None

    async def _fire(self, name: str) -> None:
        await self.runner.run(name)

    def due_for_catch_up(self, now: datetime) -> list[Job]:
        """Jobs whose slot today passed less than window_minutes ago: a late start still runs them, once."""
        window = timedelta(minutes=self.config.schedule.window_minutes)
        # An hourly job is not caught up: its next hour comes soon, and it keeps its own once-only marks.
        return [job for job in self.runner.jobs.values()
                if not job.hourly and timedelta(0) <= now - slot(job, self.config, now.date()) < window]

    async def catch_up(self) -> list[str]:
        now = self.runner.base.now
        ran = []
        for job in self.due_for_catch_up(now):
            # Targets already done today are skipped inside the job (job_runs), so this never doubles a post.
            await self.runner.run(job.name, now)
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
