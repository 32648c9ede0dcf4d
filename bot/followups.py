"""Residents after their request: chase it (by number, or by what it was about), rate it, or reopen it with
不满意. A resident only ever hears of their own village's cases, and of a clue only its reporter, privately.

Every function runs inside the caller's write transaction, as in bot/casework.py."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlite_utils import Database

from bot import cases, inbox, wording
from bot.cases import LEVEL_NAMES, STATUS_NAMES, Case
from bot.casework import IN_PRIVATE, inspectors
from bot.context import Context
from bot.inbox import Message
from bot.outbound import Outgoing

@dataclass(frozen=True)
class Followup:
    number: str | None
    intent: str        # status | happy | unhappy
    note: str = ""


def follow_up(db: Database, out: Outgoing, ctx: Context, msg: Message, f: Followup) -> str | None:
    if msg.in_group and f.number and cases.is_clue_number(f.number):
        return IN_PRIVATE
    try:
        case = _chased_case(db, msg, f)
    except Ambiguous as many:
        return which(many.candidates)
    if case is not None and case.confidential:
        return _clue_follow_up(db, out, ctx, msg, f, case)
    if case is None:
        if msg.mentions_bot or not msg.in_group:   # overheard through the bridge: not asked, so not answered
            return "没有找到您登记的诉求。请带上编号，例如“查询 101”；有新问题请直接说明。"
        return None
    if f.intent == "status" or (case.status != "answered" and f.intent == "happy"):
        if f.intent == "status" and case.active:
            cases.append(db, case.id, actor=msg.sender, action="chased", now=ctx.now, note=f.note)
        return status_line(db, case, ctx.roles)
    if case.requester != msg.sender:
        return "只有提出这件诉求的群众本人可以评价。"
    if f.intent == "happy":
        cases.append(db, case.id, actor=msg.sender, action="rated", now=ctx.now, note=f.note,
                     state={"rating": "满意", "status": "closed"})
        return f"谢谢您的评价！编号 {case.number} 已办结归档。"
    return reopen(db, out, ctx, msg, f.note, case)


def _clue_follow_up(db: Database, out: Outgoing, ctx: Context, msg: Message, f: Followup, case: Case) -> str:
    """The reporter, privately, about their own clue: its status, or a rating that goes to the inspectors.
    A rating of a clue touches no deadline: the inspectors' own ledger decides what happens next."""
    if f.intent == "status":
        return status_line(db, case, ctx.roles)
    rating = "不满意" if f.intent == "unhappy" else "满意"
    cases.append(db, case.id, actor=msg.sender, action="rated", now=ctx.now, note=f.note, state={"rating": rating})
    out.members(inspectors(ctx.config.town(case.town)),
                f"【反映人评价 {case.number}】{rating}" + (f"：{f.note}" if f.note else ""))
    return "谢谢您的评价，已保密转告镇纪委。"


def reopen(db: Database, out: Outgoing, ctx: Context, msg: Message, note: str, case: Case) -> str:
    """不满意: the case opens again with a fresh limit; the party secretary and the inspectors hear of it.
    A case not yet answered is not "reopened": the resident's displeasure is passed on as it is."""
    if case.status != "answered":
        cases.append(db, case.id, actor=msg.sender, action="chased", now=ctx.now, note=note)
        village = ctx.config.village_by_name(case.village)
        out.members([village.secretary.userid] + inspectors(ctx.config.town(case.town)),
                    f"【群众不满意 {case.number}】{case.village}·{case.kind_name}，还没有答复\n"
                    f"诉求：{wording.snippet(case.text, 80)}\n意见：{note or '（未说明）'}")
        return f"收到您的意见，编号 {case.number} 还在办理，{wording.day(case.due_at)}前答复，已告知村党支部书记和镇纪委。"
    due = ctx.due_at(case.kind, ctx.now)
    cases.append(db, case.id, actor=msg.sender, action="reopened", now=ctx.now, note=note,
                 state={"rating": "不满意", "status": "open", "due_at": due, "answered_at": None})
    village = ctx.config.village_by_name(case.village)
    out.members([village.secretary.userid] + inspectors(ctx.config.town(case.town)),
                f"【群众不满意 {case.number}】{case.village}·{case.kind_name}\n"
                f"诉求：{wording.snippet(case.text, 80)}\n意见：{note or '（未说明）'}\n已重新办理，期限{wording.day(due)}。")
    return f"收到您的意见，编号 {case.number} 已重新办理，{wording.day(due)}前答复，已告知村党支部书记和镇纪委。"


class Ambiguous(Exception):
    """Two or more of the sender's cases fit a follow-up equally well: ask which, never guess."""

    def __init__(self, candidates: list[Case]):
        self.candidates = candidates


def _chased_case(db: Database, msg: Message, f: Followup) -> Case | None:
    if f.number:
        case = cases.get(db, f.number, town=msg.village.town if msg.village else None)
        # A clue's existence is shown only to the resident who raised it, and only in private.
        if case and case.confidential and (case.requester != msg.sender or msg.in_group):
            return None
        # Another village's case is not this resident's business: it does not exist for them.
        home = msg.village.name if msg.village else inbox.last_village(db, msg.sender)
        if case and case.requester != msg.sender and case.village != home:
            return None
        return case
    # In a group, a resident's own clues are never picked: the group would learn who reported.
    theirs = cases.find(db, requester=msg.sender, confidential=False if msg.in_group else None,
                        village=msg.village.name if msg.village else None)
    wanted = [c for c in theirs if c.status == "answered"] if f.intent != "status" else [c for c in theirs if c.active]
    pool = wanted or theirs
    if len(pool) <= 1:
        return pool[-1] if pool else None
    # Several: the one the words point at ("路那个事情" → the road), else ask which.
    scored = sorted(((similarity(f.note or msg.words, c.text), c) for c in pool), key=lambda sc: -sc[0])
    (best, case), (second, _) = scored[0], scored[1]
    if best >= MATCH and best >= 2 * second:
        return case
    raise Ambiguous([c for _, c in scored])


MATCH = 0.08   # share of a follow-up's character pairs found in a case's text that points at that case


COMMON = set("的了吗呢吧啊呀么个那这是在有我你他她们就也都还又很怎样事情什时候下一")


def similarity(text: str, other: str) -> float:
    """How much of `text` is found in `other`: its character pairs, and its characters that carry meaning
    (so "路那个事情" still points at the case about 路灯), punctuation aside."""
    mine = _features(text)
    return len(mine & _features(other)) / len(mine) if mine else 0.0


@functools.lru_cache(maxsize=4096)
def _features(s: str) -> frozenset[str]:
    # Kept: a request heard is compared with each open case of its village, whose texts are the same each time.
    s = "".join(ch for ch in s if ch.isalnum())
    return frozenset({s[i:i + 2] for i in range(len(s) - 1)} | {ch for ch in s if ch not in COMMON})


def which(candidates: list[Case]) -> str:
    lines = [f"{c.number}「{wording.snippet(c.text, 14)}」{wording.day(c.due_at)}前" for c in candidates[:5]]
    return "您有几件诉求，请问是哪一件？\n" + "\n".join(lines) + f"\n请回复“查询 编号”，例如“查询 {candidates[0].number}”。"


def status_line(db: Database, case: Case, roles=None) -> str:
    head = f"编号 {case.number}（{case.kind_name}）：{STATUS_NAMES[case.status]}"
    if case.confidential:
        return head + "，镇纪委正在核查，结果会保密告知您。"
    events = cases.history(db, case.id)
    if case.active:
        holder = holder_name(case, events, roles)
        head += f"，{holder}，{wording.day(case.due_at)}前答复"
    latest = next((e for e in reversed(events) if e["action"] in ("progress", "answered", "escalated", "reopened")),
                  None)
    if latest and latest["action"] == "reopened":
        head += "。您说不满意后已重新办理"
    elif latest and latest["detail"].get("note"):
        head += f"。最新：{wording.snippet(latest['detail']['note'], 60)}"
    return head + "。"


def holder_name(case: Case, events: list[dict], roles) -> str:
    """Who handles it, as a resident would say it: the cadre by post and name, or the town, or the county."""
    if case.level == "county" and case.department:
        return f"县纪委监委已交{case.department}办理"
    if case.level != "village":
        return f"已转{LEVEL_NAMES[case.level]}里办理"
    person = roles.person(case.assignee) if roles is not None and case.assignee else None
    return f"由{person.display}办理" if person else "村里正在办理"
