"""Reports of misconduct (举报): never echoed, never shown to village cadres; the case rules send the clue to the
town's inspectors and the resident is thanked."""
from __future__ import annotations

from bot import casework
from bot.context import MessageContext
from bot.inbox import Message


def match(msg: Message, ctx: MessageContext) -> bool:
    # Cadres may report misconduct too (a committee member about the secretary), so nobody is excluded.
    return ctx.reading.label == "report"


async def act(msg: Message, _: bool, ctx: MessageContext) -> None:
    confidence = ctx.reading.confidence
    await ctx.commit(lambda db, out: out.reply(msg, casework.open_clue(db, out, ctx, msg, confidence)),
                     key=f"m{msg.id}")
