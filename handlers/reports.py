"""Reports of misconduct (举报): never echoed, never shown to village cadres; the case rules send the clue to the
town's inspectors and the resident is thanked."""
from __future__ import annotations

from bot import casework
from bot.context import MessageContext
from bot.inbox import Message


def match(msg: Message, ctx: MessageContext) -> str | None:
    # Cadres may report misconduct too (a committee member about the secretary), so nobody is excluded.
    found = ctx.route
    return found if found in ("clue", "triage") else None


async def act(msg: Message, found: str, ctx: MessageContext) -> None:
    confidence = ctx.reading.confidence

    def tx(db, out):
        thanks = casework.open_clue(db, out, ctx, msg, confidence, triage=found == "triage")
        if found == "clue" or msg.mentions_bot or not msg.in_group:   # an unsure one overheard: said nothing
            out.reply(msg, thanks)
    await ctx.commit(tx, key=f"m{msg.id}")
