"""What a group with all traffic shows (a bridge, the chat archive): a cadre answering a request in his own words,
and neighbours supporting one ("+1", "我家也是"). Messages addressed to the bot are not these."""
from __future__ import annotations

import re

from bot import drafts, traffic
from bot.context import MessageContext
from bot.inbox import Message

SUPPORT = re.compile(r"^(\+\d*|＋\d*|1|同上|同问|附议|我家也是|我家也一样|我们家也是|我们那也是|我们这也是|一样|同样|"
                     r"同样的问题|我也是|我也遇到了|顶|顶一下|对对|是啊|确实)[!！。.~～\s]*")


def overheard(msg: Message) -> bool:
    return msg.in_group and not msg.mentions_bot and msg.village is not None


def match_reply(msg: Message, ctx: MessageContext) -> bool:
    """A village cadre's own group message, not a command: an answer to the newest request, or a notice."""
    return overheard(msg) and msg.village.cadre(msg.sender) is not None and bool(msg.words) \
        and ctx.route == "answer"


async def act_reply(msg: Message, _: bool, ctx: MessageContext) -> None:
    def tx(db, out):
        # A draft the bot handed over, now posted (a customer group), is that answer; else the cadre's own words
        # answer the newest request still waiting for one.
        if drafts.posted(db, msg, ctx.now) is None:
            traffic.answered_in_group(db, out, ctx, msg)
    await ctx.commit(tx, key=f"m{msg.id}")


def match_support(msg: Message, ctx: MessageContext) -> bool:
    return overheard(msg) and not ctx.roles.is_staff(msg.sender) and bool(SUPPORT.match(msg.words)) \
        and ctx.reading.label in ("chatter", "help", "followup")


async def act_support(msg: Message, _: bool, ctx: MessageContext) -> None:
    await ctx.commit(lambda db, out: traffic.second(db, ctx, msg, similar_only=False), key=f"m{msg.id}")
