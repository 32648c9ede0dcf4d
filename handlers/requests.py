"""Intake: a resident's request opens a case with its legal deadline (the case rules answer the group and tell
the duty cadre). Below the confidence line the duty cadre is asked to confirm instead (疑似诉求)."""
from __future__ import annotations

from dataclasses import dataclass

from bot import casework, traffic
from bot.cases import REQUEST_KINDS
from bot.context import MessageContext
from bot.inbox import Message
from bot.routes import best_request

ASK_IN_GROUP = "请在您所在村（社区）的群里@小微 说明情况，这样值班干部能及时看到并办理。"
PASSED_ON = "收到，已转给值班干部确认，确认后会在群里答复您。"
PASSED_ON_PRIVATELY = "收到，已转给值班干部确认，确认后会答复您。"
# 微信客服 without a village: the resident did not come in through a village's link (its scene_param names it).
KF_WHICH_VILLAGE = "请从您所在村（社区）群里的“私信小微”链接进来再说一次，这样我知道是哪个村的事，能马上转给值班干部。"
SECONDED = "这件事已登记为编号 {number}，已记下您的附议，办好后会在群里一并答复。"


@dataclass(frozen=True)
class Intake:
    kind: str
    confidence: float
    sure: bool


def match(msg: Message, ctx: MessageContext) -> Intake | None:
    # Who speaks, whether the bot was asked and how sure the reading is are weighed in ctx.route: a cadre's
    # own post is never a request, an overheard one needs a surer reading than one said to the bot.
    found = ctx.route
    if found not in ("case", "confirm"):
        return None
    verdict = ctx.reading
    kind, share = (verdict.label, verdict.confidence) if verdict.label in REQUEST_KINDS else best_request(verdict)
    return Intake(kind, share, sure=found == "case")


async def act(msg: Message, intake: Intake, ctx: MessageContext) -> None:
    await ctx.commit(take_in(msg, intake, ctx), key=f"m{msg.id}")


def take_in(msg: Message, intake: Intake, ctx: MessageContext):
    """The intake as a rule for the message's own transaction (the objection handler runs it inside its own)."""
    def tx(db, out):
        if msg.village is None:
            return out.reply(msg, KF_WHICH_VILLAGE if msg.channel == "kf" else ASK_IN_GROUP)
        joined = traffic.second(db, ctx, msg, similar_only=True)   # the same problem, raised again
        if joined is not None:
            if msg.mentions_bot or not msg.in_group:
                out.reply(msg, SECONDED.format(number=joined.number))
            return None
        casework.open_request(db, out, ctx, msg, intake.kind, intake.confidence, intake.sure)
        if not intake.sure and (msg.mentions_bot or not msg.in_group):
            # asked of the bot: the resident hears it was not dropped
            out.reply(msg, PASSED_ON if msg.in_group else PASSED_ON_PRIVATELY)
    return tx
