"""What a handler or a job may touch: a small typed context instead of the whole application.

PTB hands each callback a context; here it carries the configuration, who is who, the working-day calendar,
the time, and the two doors to the database: `read` on a reader thread, `commit` through the one writer,
whose transaction also holds whatever the work says (outbox rows)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Awaitable, Callable, Protocol, TypeVar

from sqlite_utils import Database

from bot.classifier import Verdict
from bot.clock import Clock
from bot.config import Config
from bot.inbox import Message
from bot.outbound import Outgoing
from bot.roles import Roles
from bot.routes import ADDRESSED_RESIDENT, Circumstances, decide
from bot.workdays import WorkCalendar

T = TypeVar("T")
Work = Callable[[Database, Outgoing], T]


class Commit(Protocol):
    def __call__(self, fn: Work[T], key: str | None = None) -> Awaitable[T]: ...


class Read(Protocol):
    def __call__(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]: ...


@dataclass(frozen=True)
class Context:
    config: Config
    roles: Roles
    calendar: WorkCalendar
    clock: Clock
    commit: Commit
    read: Read
    wecom: Callable[[], Any] = field(default=lambda: None, repr=False)   # the WeCom client, once started
    rehearsal: bool = False     # a dry run: every transaction is rolled back, so work writes nothing elsewhere

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def due_at(self, kind: str, start: datetime) -> datetime:
        return self.calendar.due_at(kind, start, self.config.rules.close_time)


@dataclass(frozen=True)
class MessageContext(Context):
    """A handler's context: the message, the handler acting on it, and the message's reading by the classifier
    (computed once per message however often asked: `classify` caches it)."""
    message: Message = field(default=None)  # type: ignore[assignment]
    classify: Callable[[Message], Verdict] = field(default=None, repr=False)  # type: ignore[assignment]
    handler: str | None = None
    about: Circumstances = ADDRESSED_RESIDENT   # who speaks, addressed or overheard, open cases, quoting

    @property
    def reading(self) -> Verdict:
        return self.classify(self.message)

    @property
    def route(self) -> str:
        """What to do with the message: the reading weighed with its circumstances (bot/routes.py)."""
        return decide(self.reading, self.config.rules, self.about)

    async def answer(self, rule: Callable[[Database, Outgoing], str | None]) -> None:
        """Run a rule in the message's own transaction and send its line, if it has one, back where the
        message came from."""
        def tx(db: Database, out: Outgoing) -> None:
            line = rule(db, out)
            if line:
                out.reply(self.message, line)
        await self.commit(tx, key=f"m{self.message.id}")


@dataclass(frozen=True)
class JobContext(Context):
    """A daily job's context: the job's name and the moment it runs "as of"."""
    job: str = ""
    at: datetime = field(default=None)  # type: ignore[assignment]
    once: Callable[[str, Work[object]], Awaitable[bool]] = field(default=None, repr=False)  # type: ignore
    # once_many([(target, fn), …]): `once` for each, a chunk of targets per transaction; returns those that ran.
    once_many: Callable[..., Awaitable[list[str]]] = field(default=None, repr=False)  # type: ignore

    @property
    def day(self) -> date:
        return self.at.date()
