"""One handler table for every stored message: the first handler whose `match` returns something acts.

`match(msg, ctx)` is synchronous and side-effect free (testable without running anything); `act(msg, found,
ctx)` is async and does the work, committing through the writer. Messages are handled in arrival order, each
one's transaction queued after the one before (Dispatcher)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
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
    the core never knows which handlers exist.

    In arrival order, but overlapping: a message's handler starts once the one before has queued its
    transaction at the writer (or finished), not once that transaction has committed. The writer runs them
    in the order queued, each seeing the one before, and a burst of them shares one group commit; handled one
    commit at a time, a burst of callbacks (which commit together) left the dispatcher far behind. A handler
    that reads through `ctx.read` before its first commit waits until the message before is done, so that it
    reads what that one wrote, as it would one at a time."""

    BATCH = 64          # messages loaded in one query, and at most in flight together (the writer's batch)

    def __init__(self, handlers: Sequence[Handler], *, load: Callable[[list[int]], Awaitable[list[Message]]],
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
            ids = [await self.queue.get()]
            while len(ids) < self.BATCH and not self.queue.empty():
                ids.append(self.queue.get_nowait())
            try:
                await self.handle_all(ids)
            finally:
                for _ in ids:
                    self.queue.task_done()

    async def idle(self) -> None:
        """Wait until everything submitted so far has been handled (tests and the demo use this)."""
        await self.queue.join()

    async def handle(self, message_id: int) -> str | None:
        return (await self.handle_all([message_id]))[0]

    async def handle_all(self, message_ids: list[int]) -> list[str | None]:
        """Handle these stored messages in id order; returns each one's handler name (None: none acted)."""
        messages = {m.id: m for m in await self._load(message_ids)}
        loop = asyncio.get_running_loop()
        tasks: list[asyncio.Future] = []
        for message_id in message_ids:
            msg = messages.get(message_id)
            if msg is None:
                tasks.append(_done_with(None))
                continue
            # Done when the handler has queued its transaction, or when it ends without one: one future and a
            # callback, not an Event, a task waiting on it and an asyncio.wait over both, for every message.
            queued = loop.create_future()
            before = tasks[-1] if tasks else None
            task = asyncio.ensure_future(self._handle(msg, queued, before))
            task.add_done_callback(lambda _, queued=queued: _set(queued))
            tasks.append(task)
            await queued
        return list(await asyncio.gather(*tasks))

    async def _handle(self, msg: Message, queued: asyncio.Future, before: asyncio.Future | None) -> str | None:
        name = None
        try:
            routed = route(self.handlers, msg, self._context(msg, None))
            if routed:
                name = routed[0].name
                # The acting handler's own transaction also marks the message handled (one commit, and a
                # crash can never leave its work done but the message still 'new', to be done twice).
                await routed[0].act(msg, routed[1], _in_turn(self._context(msg, name), queued, before))
        except Exception as exc:  # noqa: BLE001 - the one error path: kept as failed, never lost
            _set(queued)
            await self._failed(msg.id, name, exc)
            return name
        _set(queued)
        await self._done(msg.id, name)
        return name


def _set(queued: asyncio.Future) -> None:
    if not queued.done():
        queued.set_result(None)


def _in_turn(ctx: MessageContext, queued: asyncio.Future, before: asyncio.Future | None) -> MessageContext:
    """The context, with its first commit telling the dispatcher that the next message may start, and its reads
    before that waiting for the message before to be done."""
    commit, read = ctx.commit, ctx.read

    def first_commit(fn, key=None):
        # Called synchronously by `await ctx.commit(…)`: the write is queued at the writer before the
        # dispatcher runs again.
        _set(queued)
        return commit(fn, key)

    async def read_in_turn(fn, *args):
        if not queued.done() and before is not None and not before.done():
            await asyncio.wait({before})
        return await read(fn, *args)
    return replace(ctx, commit=first_commit, read=read_in_turn)


def _done_with(value: object) -> asyncio.Future:
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future
