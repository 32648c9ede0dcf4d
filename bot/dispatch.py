"""One handler table for every stored message: the first handler whose `match` returns something acts.

`match(msg, ctx)` is synchronous and side-effect free (testable without running anything); `act(msg, found,
ctx)` is async and does the work, committing through the writer. Messages are handled one at a time, in
arrival order."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

from bot.context import MessageContext
from bot.inbox import Message

log = logging.getLogger("xiaowei.dispatch")


@dataclass(frozen=True)
class Handler:
    name: str
    match: Callable[[Message, MessageContext], Any]
    act: Callable[[Message, Any, MessageContext], Awaitable[None]]


def route(handlers: Sequence[Handler], msg: Message, ctx: MessageContext) -> tuple[Handler, Any] | None:
    for handler in handlers:
        found = handler.match(msg, ctx)
        if found is not None and found is not False:
            return handler, found
    return None


class Dispatcher:
    """Feeds stored messages to the handler table. What it needs from the application is passed in, so that
    the core never knows which handlers exist."""

    def __init__(self, handlers: Sequence[Handler], *, load: Callable[[int], Awaitable[Message | None]],
                 context: Callable[[Message, str | None], MessageContext],
                 done: Callable[[int, str | None], Awaitable[None]],
                 failed: Callable[[int, str | None, BaseException], Awaitable[None]]):
        self.handlers = list(handlers)
        self._load, self._context, self._done, self._failed = load, context, done, failed
        self.queue: asyncio.Queue[int] = asyncio.Queue()

    def submit(self, message_id: int) -> None:
        self.queue.put_nowait(message_id)

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
        msg = await self._load(message_id)
        if msg is None:
            return None
        ctx = self._context(msg, None)
        name = None
        try:
            routed = route(self.handlers, msg, ctx)
            if routed:
                name = routed[0].name
                # The acting handler's own transaction also marks the message handled (one commit, and a
                # crash can never leave its work done but the message still 'new', to be done twice).
                await routed[0].act(msg, routed[1], self._context(msg, name))
        except Exception as exc:  # noqa: BLE001 - the one error path: kept as failed, never lost
            await self._failed(message_id, name, exc)
            return name
        await self._done(message_id, name)
        return name
