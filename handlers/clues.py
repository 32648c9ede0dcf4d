"""The inspectors' clue ledger commands: `线索 编号 步骤 理由` (受理, 谈话函询, 初步核实, 暂存待查, 予以了结,
立案审查调查, 办结 with its finding). Who may act and which step may follow which are bot/clue_ledger.py's."""
from __future__ import annotations

from bot import clue_ledger
from bot.clue_ledger import ClueCommand
from bot.context import MessageContext
from bot.inbox import Message


def match(msg: Message, ctx: MessageContext) -> ClueCommand | None:
    # Only staff: a resident's message that starts with 线索 is what it says, and the classifier reads it.
    if not ctx.roles.is_staff(msg.sender):
        return None
    return clue_ledger.parse(msg.words, msg.received_at.year)


async def act(msg: Message, cmd: ClueCommand, ctx: MessageContext) -> None:
    await ctx.answer(lambda db, out: clue_ledger.act(db, out, ctx, msg, cmd))
