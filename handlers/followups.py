"""Residents chasing a case (查询/催办), and rating it after the answer (满意/不满意). 不满意 reopens the case
and tells the party secretary and the inspectors."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot import cases, inbox, wording
from bot.cases import Case
from bot.inbox import Message

VERB = re.compile(r"^(查询|进度|催办|满意|不满意|非常满意)\s*(J?\d{3,6})?\s*(.*)$", re.I | re.S)
UNHAPPY = re.compile(r"不满意|没解决|没有解决|不认可|没用|敷衍|差评")
HAPPY = re.compile(r"满意|谢谢|感谢|好评|辛苦|点赞|👍")


@dataclass(frozen=True)
class Followup:
    number: str | None
    intent: str        # status | happy | unhappy
    note: str = ""


def match(msg: Message, bot) -> Followup | None:
    if bot.roles.is_staff(msg.sender):
        return None
    text = bot.own_words(msg)
    found = VERB.match(text)
    if found:
        verb = found[1]
        intent = "unhappy" if verb == "不满意" else "happy" if "满意" in verb else "status"
        return Followup(found[2], intent, found[3].strip())
    if bot.verdict(msg).label != "followup":
        return None
    number = re.search(r"J?\d{3,6}", text, re.I)
    intent = "unhappy" if UNHAPPY.search(text) else "happy" if HAPPY.search(text) else "status"
    return Followup(number[0] if number else None, intent, text)


async def act(msg: Message, f: Followup, bot) -> None:
    def tx(db, out):
        case = _find(db, msg, f)
        if case is None:
            if msg.mentions_bot or not msg.in_group:   # overheard through the bridge: not asked, so not answered
                out.reply(msg, "没有找到您登记的诉求。请带上编号，例如“查询 101”；有新问题请直接说明。")
            return
        if f.intent == "status" or case.status not in ("answered",) and f.intent == "happy":
            out.reply(msg, status_line(case, db))
            if f.intent == "status" and case.active:
                cases.append(db, case.id, actor=msg.sender, action="chased", now=bot.clock.now(), note=f.note)
            return
        if case.requester != msg.sender:
            out.reply(msg, "只有提出这件诉求的群众本人可以评价。")
            return
        if f.intent == "happy":
            cases.append(db, case.id, actor=msg.sender, action="rated", now=bot.clock.now(), note=f.note,
                         state={"rating": "满意", "status": "closed"})
            out.reply(msg, f"谢谢您的评价！编号 {case.number} 已办结归档。")
            return
        due = bot.due_at(case.kind, bot.clock.now())
        cases.append(db, case.id, actor=msg.sender, action="reopened", now=bot.clock.now(), note=f.note,
                     state={"rating": "不满意", "status": "open", "due_at": due, "answered_at": None})
        village = bot.config.village_by_name(case.village)
        out.reply(msg, f"收到您的意见，编号 {case.number} 已重新办理，{wording.day(due)}前答复，已告知村党支部书记和镇纪委。")
        told = [village.secretary.userid] + [p.userid for p in bot.config.town(case.town).inspectors]
        out.members(told, f"【群众不满意 {case.number}】{case.village}·{case.kind_name}\n"
                          f"诉求：{wording.snippet(case.text, 80)}\n意见：{f.note or '（未说明）'}\n"
                          f"已重新办理，期限{wording.day(due)}。")
    await bot.commit(tx, key=f"m{msg.id}")


def _find(db, msg: Message, f: Followup) -> Case | None:
    if f.number:
        case = cases.get(db, f.number)
        # A clue's existence is shown only to the resident who raised it.
        if case and case.confidential and case.requester != msg.sender:
            return None
        return case
    mine = cases.find(db, requester=msg.sender, confidential=None,
                      village=msg.village.name if msg.village else None)
    wanted = [c for c in mine if c.status == "answered"] if f.intent != "status" else [c for c in mine if c.active]
    return (wanted or mine or [None])[-1]


def status_line(case: Case, db) -> str:
    head = f"编号 {case.number}（{case.kind_name}）：{cases.STATUS_NAMES[case.status]}"
    if case.confidential:
        return head + "，镇纪委正在核查，结果会保密告知您。"
    if case.active:
        head += f"，{cases.LEVEL_NAMES[case.level]}里办理，{wording.day(case.due_at)}前办结"
    notes = [e for e in cases.history(db, case.id) if e["action"] in ("progress", "answered", "escalated")]
    if notes:
        head += f"。最新：{wording.snippet(notes[-1]['detail']['note'], 60)}"
    return head + "。"
