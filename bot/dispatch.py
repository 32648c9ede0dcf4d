"""One handler table for every stored message: the first handler whose `match` returns something acts.

`match` is synchronous and side-effect free (testable without running anything); `act` is async and does
the work, committing through the writer. Messages are handled one at a time, in arrival order."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from bot import inbox
from bot.inbox import Message

if TYPE_CHECKING:
    from bot.app import Bot

log = logging.getLogger("xiaowei.dispatch")


@dataclass(frozen=True)
class Handler:
    name: str
    match: Callable[[Message, "Bot"], Any]
    act: Callable[[Message, Any, "Bot"], Awaitable[None]]


class Dispatcher:
    def __init__(self, bot: "Bot", handlers: Sequence[Handler]):
        self.bot, self.handlers = bot, list(handlers)
        self.queue: asyncio.Queue[int] = asyncio.Queue()

    def route(self, msg: Message) -> tuple[Handler, Any] | None:
        for handler in self.handlers:
            found = handler.match(msg, self.bot)
            if found is not None and found is not False:
                return handler, found
        return None

    def submit(self, message_id: int) -> None:
        self.queue.put_nowait(message_id)

    async def recover(self) -> int:
        """After a restart: everything stored but not handled goes through again."""
        ids = await self.bot.store.read(inbox.pending_ids)
        for message_id in ids:
            self.submit(message_id)
        return len(ids)

    async def run(self) -> None:
        while True:
            message_id = await self.queue.get()
            try:
                await self.handle(message_id)
            finally:
                self.queue.task_done()

    async def idle(self) -> None:
        """Wait until everything submitted so far has been handled (tests and the demo use this)."""
        await self.queue.join()

    async def handle(self, message_id: int) -> str | None:
        msg = await self.bot.load_message(message_id)
        if msg is None:
            return None
        routed = self.route(msg)
        name = routed[0].name if routed else None
        try:
            if routed:
                await routed[0].act(msg, routed[1], self.bot)
        except Exception as exc:
            # Kept as 'failed' (never lost) and the admins are told; the text stays out of the log.
            log.exception("handler %s failed on message %s", name, message_id)
            await self.bot.commit(lambda db, out: (
                inbox.mark(db, message_id, "failed", name, self.bot.clock.now(), type(exc).__name__),
                out.alert_admins(f"handler-failed:{message_id}", f"消息 {message_id} 处理出错（{name}），请查看日志")))
            return name
        await self.bot.store.write(inbox.mark, message_id, "done", name, self.bot.clock.now())
        return name
