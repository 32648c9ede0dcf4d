"""All traffic (a bridge village, a customer group's archive): a cadre's own words in the group are the first
response to the request they answer; a neighbour's "+1" joins an open request (附议) instead of opening another.

Every function runs inside the caller's write transaction, as in bot/casework.py."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlite_utils import Database

from bot import cases, wording
from bot.cases import Case
from bot.context import Context
from bot.followups import similarity
from bot.inbox import Message
from bot.outbound import Outgoing

REPLY_WINDOW = timedelta(hours=24)   # a cadre's group message answers the newest request not yet answered
SUPPORT_WINDOW = timedelta(days=3)   # a neighbour's "+1" or "我家也是" joins a request this recent
SAME_PROBLEM = 0.3                   # a request this much like an open one is the same problem, seconded


def answered_in_group(db: Database, out: Outgoing, ctx: Context, msg: Message) -> str | None:
    """A cadre's own words in the group are the first response to the request they answer: recorded, and the
    cadre is asked privately whether it is done."""
    village = msg.village
    waiting = [c for c in cases.find(db, village=village.name, statuses=cases.ACTIVE, since=msg.received_at - REPLY_WINDOW)
               if c.first_response_at is None and c.received_at <= msg.received_at]
    if not waiting:
        return None
    quoted = quoted_case(db, msg, waiting)    # a reply quoting a request answers that one, however old
    case = quoted or max(waiting, key=lambda c: (similarity(msg.words, c.text) >= SAME_PROBLEM, c.received_at))
    cases.append(db, case.id, actor=msg.sender, action="responded", now=ctx.now, note=msg.words,
                 state={"first_response_at": msg.received_at})
    out.members([msg.sender], f"您在{village.name}群里的答复已记为编号 {case.number}「{wording.snippet(case.text, 14)}」"
                              f"的首次回应。是否办结 {case.number}？办结请回复“办结 {case.number} 结果”。")
    return case.number


_NUMBER_IN_QUOTE = re.compile(r"编号\s*(J\d{4}-\d{1,4}|\d{3,6})", re.I)


def quoted_case(db: Database, msg: Message, among: list[Case] | None = None) -> Case | None:
    """The case a quoted message belongs to: the number in a quoted receipt of the bot's, else the open request
    of this village whose words the quote repeats."""
    words = msg.quoted
    if not words or msg.village is None:
        return None
    pool = among if among is not None else cases.find(db, village=msg.village.name, statuses=cases.ACTIVE)
    number = _NUMBER_IN_QUOTE.search(words)
    if number:
        return next((c for c in pool if c.number == number[1].upper()), None)
    scored = [(similarity(words, c.text), c) for c in pool]
    best = max(scored, key=lambda sc: (sc[0], sc[1].received_at), default=None)
    return best[1] if best and best[0] >= SAME_PROBLEM else None


def second(db: Database, ctx: Context, msg: Message, similar_only: bool, case: Case | None = None) -> Case | None:
    """A resident repeating or supporting an open request joins it (附议) instead of opening a second case.
    case: the request the resident quoted, joined whatever its age."""
    if case is not None:
        cases.append(db, case.id, actor=msg.sender, action="seconded", now=ctx.now, note=msg.words)
        return case
    recent = [c for c in cases.find(db, village=msg.village.name, statuses=cases.ACTIVE,
                                    since=msg.received_at - SUPPORT_WINDOW) if c.requester != msg.sender]
    scored = [(similarity(msg.words, c.text), c) for c in recent]
    if similar_only:
        scored = [(score, c) for score, c in scored if score >= SAME_PROBLEM]
    if not scored:
        return None
    case = max(scored, key=lambda sc: (sc[0], sc[1].received_at))[1]
    cases.append(db, case.id, actor=msg.sender, action="seconded", now=ctx.now, note=msg.words)
    return case
