"""Cadres' short commands: 认领 进展 办结 上报 无法解决 退回 改类 督办 确认 我的 查看.
Who may act on which case, and what each command does, are the case rules' (bot/casework.py)."""
from __future__ import annotations

import re

from bot import casework
from bot.casework import USAGE, Command
from bot.context import MessageContext
from bot.inbox import Message

COMMAND = re.compile(r"^(" + "|".join(sorted(USAGE, key=len, reverse=True)) + r")\s*(J\d{4}-\d{1,4}|\d{3,6})?\s*(.*)$", re.I | re.S)


def match(msg: Message, ctx: MessageContext) -> Command | None:
    found = COMMAND.match(msg.words)
    if not found:
        return None
    verb, number, note = found[1], found[2], found[3].strip()
    if not ctx.roles.is_staff(msg.sender):
        # A resident's "办结了吗" is not a command; only a verb with a case number is refused outright.
        return Command("refuse", number, "") if number else None
    return Command(verb, number.upper() if number else None, note)


async def act(msg: Message, cmd: Command, ctx: MessageContext) -> None:
    await ctx.answer(lambda db, out: casework.command(db, out, ctx, msg, cmd))
