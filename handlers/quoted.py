"""A resident's quoted reply (引用回复) belongs to the message it quotes: quoting a request or the bot's receipt
of it, "修好了吗" chases that case and "我家也是" joins it; a quote that points at no open case is read as if
it quoted nothing."""
from __future__ import annotations

from bot import followups, traffic
from bot.context import MessageContext
from bot.inbox import Message
from handlers.followups import HAPPY, UNHAPPY
from handlers.traffic import SUPPORT


def match(msg: Message, ctx: MessageContext) -> bool:
    return ctx.route == "reply" and msg.village is not None


async def act(msg: Message, _: bool, ctx: MessageContext) -> None:
    chase = ctx.reading.label == "followup"

    def line(db, out) -> str | None:
        case = traffic.quoted_case(db, msg)
        if case is None:
            # Nothing open is quoted: a chase is still a chase (of the sender's own cases), chatter is chatter.
            return followups.follow_up(db, out, ctx, msg, _followup(None, msg)) if chase else None
        if chase or case.requester == msg.sender:
            return followups.follow_up(db, out, ctx, msg, _followup(case.number, msg))
        if SUPPORT.match(msg.words) or followups.similarity(msg.words, case.text) >= traffic.SAME_PROBLEM:
            traffic.second(db, ctx, msg, similar_only=False, case=case)
            if msg.mentions_bot or not msg.in_group:
                return f"已记下您对编号 {case.number} 的附议，办好后会在群里一并答复。"
        return None
    await ctx.answer(line)


def _followup(number: str | None, msg: Message) -> followups.Followup:
    intent = "unhappy" if UNHAPPY.search(msg.words) else "happy" if HAPPY.search(msg.words) else "status"
    return followups.Followup(number, intent, msg.words)
