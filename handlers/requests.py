"""Intake: a resident's request opens a case with its legal deadline; the group is answered in one line and the
duty cadre told privately. Below the confidence line the duty cadre is asked to confirm instead (疑似诉求)."""
from __future__ import annotations

from dataclasses import dataclass

from bot import cases, duty, wording
from bot.cases import REQUEST_KINDS
from bot.inbox import Message


POSSIBLE_REQUEST = 0.2   # a request kind's share of the probability that is worth a cadre's glance


@dataclass(frozen=True)
class Intake:
    kind: str
    confidence: float
    sure: bool


def match(msg: Message, bot) -> Intake | None:
    if bot.roles.is_staff(msg.sender):
        return None   # cadres' own posts are notices and answers, not requests
    verdict = bot.verdict(msg)
    threshold = bot.config.rules.confidence_threshold
    if verdict.label in REQUEST_KINDS:
        return Intake(verdict.label, verdict.confidence, verdict.confidence >= threshold)
    if verdict.label == "chatter" and msg.mentions_bot and verdict.confidence < threshold:
        # Someone @-mentioned the bot and it is unsure this is chatter: a cadre looks, nobody is spammed.
        kind = max(REQUEST_KINDS, key=lambda k: verdict.scores.get(k, 0.0))
        if verdict.scores.get(kind, 0.0) >= POSSIBLE_REQUEST:
            return Intake(kind, verdict.scores[kind], sure=False)
    return None


async def act(msg: Message, intake: Intake, bot) -> None:
    if msg.village is None:
        await bot.commit(lambda db, out: out.reply(msg, "请在您所在村（社区）的群里@小微 说明情况，"
                                                        "这样值班干部能及时看到并办理。"), key=f"m{msg.id}")
        return
    village = msg.village
    due = bot.due_at(intake.kind, msg.received_at)

    def tx(db, out):
        case = cases.open_case(db, message_id=msg.id, town=village.town, village=village.name, kind=intake.kind,
                               text=bot.own_words(msg), requester=msg.sender, chat_id=msg.chat_id,
                               received_at=msg.received_at, due_at=due, now=bot.clock.now(),
                               confidence=intake.confidence, status="open" if intake.sure else "unconfirmed")
        officers = duty.responsible(db, village, msg.received_at.date())
        if intake.sure:
            announce(out, case, village, officers)
        else:
            out.members([c.userid for c in officers], (
                f"【疑似诉求 {case.number}】{village.name}群里有一条消息，可能是{case.kind_name}，请确认：\n"
                f"“{wording.snippet(case.text, 80)}”\n"
                f"是诉求请回复“确认 {case.number}”，我会登记并答复群众；不是请回复“改类 {case.number} 闲聊”。"))
    await bot.commit(tx, key=f"m{msg.id}")


def announce(out, case: cases.Case, village, officers) -> None:
    """The group answer and the private alert for a case now open; also used when a cadre confirms one."""
    names = "、".join(c.name for c in officers)
    out.group(village, f"收到，已登记为{case.kind_name}，编号 {case.number}，{wording.day(case.due_at)}前办结。"
                       f"值班干部{names}会跟进。", mentions=[c.userid for c in officers])
    out.members([c.userid for c in officers], (
        f"【新诉求 {case.number}·{case.kind_name}】{village.name}\n"
        f"内容：{wording.snippet(case.text, 120)}\n期限：{wording.day(case.due_at)}\n"
        f"回复“认领 {case.number}”“办结 {case.number} 结果”，村里解决不了回复“上报 {case.number} 原因”。"))
