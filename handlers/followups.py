"""Residents chasing a case (查询/催办), and rating it after the answer (满意/不满意)."""
from __future__ import annotations

import re

from bot import followups
from bot.context import MessageContext
from bot.inbox import Message

VERB = re.compile(r"^(查询|进度|催办|满意|不满意|非常满意)\s*(J\d{4}-\d{1,4}|\d{3,6})?\s*(.*)$", re.I | re.S)
UNHAPPY = re.compile(r"不满意|没解决|没有解决|不认可|没用|敷衍|差评")
HAPPY = re.compile(r"满意|谢谢|感谢|好评|辛苦|点赞|👍")


def match(msg: Message, ctx: MessageContext) -> followups.Followup | None:
    if ctx.roles.is_staff(msg.sender):
        return None
    found = VERB.match(msg.words)
    if found:
        verb = found[1]
        intent = "unhappy" if verb == "不满意" else "happy" if "满意" in verb else "status"
        return followups.Followup(found[2], intent, found[3].strip())
    if ctx.route != "followup":
        return None
    number = re.search(r"J\d{4}-\d{1,4}|\d{3,6}", msg.words, re.I)
    intent = "unhappy" if UNHAPPY.search(msg.words) else "happy" if HAPPY.search(msg.words) else "status"
    return followups.Followup(number[0] if number else None, intent, msg.words)


async def act(msg: Message, f: followups.Followup, ctx: MessageContext) -> None:
    await ctx.answer(lambda db, out: followups.follow_up(db, out, ctx, msg, f))
