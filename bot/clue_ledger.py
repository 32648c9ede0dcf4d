"""The clue ledger (问题线索移送处置管理台账): the steps the discipline organs' rules give a clue — 受理, one of the
four ways of disposal, 立案审查调查 after a 初步核实, then 办结 with its finding — each an event of the clue's
hash-chained history (sealed in the keyed ledger like every event), with who, when and why.

Only the inspectors of the clue's town and the county commission may act on a clue, and only in private. The
reporter is told privately that it was handled; a cleared cadre may be named in the group (澄清正名) through the
outbound choke point, in one fixed neutral sentence."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from bot import cases
from bot.cases import Case
from bot.config import Config, Person, Village
from bot.context import Context
from bot.inbox import Message
from bot.outbound import Outgoing
from bot.roles import Roles

RECEIVED = "待受理"
DISPOSALS = ("谈话函询", "初步核实", "暂存待查", "予以了结")
STEPS = ("受理", *DISPOSALS, "立案审查调查", "办结")
OUTCOMES = ("属实", "部分属实", "不属实", "诬告")
CLEARABLE = ("不属实", "诬告")        # only a cadre found wrongly accused is cleared in public
# Which step may follow which. 暂存待查 waits for new facts and then goes one of the other ways; a 谈话函询 whose
# answers do not satisfy goes on to 初步核实; only a 初步核实 leads to 立案审查调查.
NEXT: dict[str, tuple[str, ...]] = {
    RECEIVED: ("受理",),
    "受理": DISPOSALS,
    "暂存待查": ("谈话函询", "初步核实", "予以了结"),
    "谈话函询": ("初步核实", "办结"),
    "初步核实": ("立案审查调查", "办结"),
    "立案审查调查": ("办结",),
    "予以了结": ("办结",),
    "办结": (),
}
NEEDS_REASON = set(DISPOSALS) | {"立案审查调查"}
EVENT_NAMES = {"opened": "收到", "forwarded": "移送纪委", "confirmed": "确认为线索", "claimed": "认领",
               "progress": "进展", "rated": "反映人评价", "relabeled": "改类", "released": "转为普通诉求"}
USAGE = ("用法：线索 编号 步骤 理由，步骤：受理、谈话函询、初步核实、暂存待查、予以了结、立案审查调查、办结。\n"
         "办结要写结论：线索 编号 办结 属实/部分属实/不属实/诬告 [澄清 干部姓名] 说明")
NOT_FOUND = "没有找到这个编号。"
IN_PRIVATE = "请私聊小微办理。"
REPORTER_TOLD = "您反映的问题（编号 {number}）已办理完毕。谢谢您对村务的监督。"
TOLD = {"told": "已私信告知反映人。",
        "held": "反映人是通过微信客服反映的，现在无法回复，对方下次发消息时小微会告知。",
        "unreachable": "反映人是在微信群里反映的，小微无法私信对方，请通过电话或当面告知已办理完毕（不要在群里说）。"}
# Where a reporter is on personal WeChat with no private channel to them (a customer group's chat archive, the
# gateway's plain WeChat groups).
UNREACHABLE_CHANNELS = ("archive", "bridge")

COMMAND = re.compile(r"^线索\s*(?:(\S+?(?:镇|乡|街道))\s*)?(J\d{4}-\d{1,4}|\d{1,4})\s*"
                     r"(" + "|".join(sorted(STEPS, key=len, reverse=True)) + r")?\s*(.*)$", re.I | re.S)


# --- the commands --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClueCommand:
    number: str              # as typed, normalised to J2026-012
    step: str | None         # None: show the clue's place in the ledger
    note: str
    town: str | None = None  # given by a county member when the number repeats across towns


def parse(words: str, year: int) -> ClueCommand | None:
    """`线索 12 初步核实 理由`, `线索 J2026-012 办结 不属实 澄清 张建 说明`, `线索 翠江镇 J2026-012 受理`."""
    found = COMMAND.match(words.strip())
    if not found:
        return None
    town, number, step, note = found[1], found[2].upper(), found[3], found[4].strip()
    if number.startswith("J"):
        head, _, serial = number.partition("-")
        number = f"{head}-{int(serial):03d}"
    else:
        number = f"J{year}-{int(number):03d}"
    return ClueCommand(number, step, note, town)


def act(db: Database, out: Outgoing, ctx: Context, msg: Message, cmd: ClueCommand) -> str:
    """Check who acts on which clue, validate the step against the clue's place, then record it."""
    if msg.in_group:
        return IN_PRIVATE        # a group never learns whether a clue, or this number, exists
    found = _mine(db, ctx, msg.sender, cmd)
    if isinstance(found, str):
        return found
    clue = found
    stage = stage_of(clue)
    if cmd.step is None:
        return place(clue)
    if clue.status == "released":
        return f"{clue.number} 已转为普通诉求，不在线索台账里办理。"
    if cmd.step not in NEXT[stage]:
        allowed = "、".join(NEXT[stage]) or "（已办结，不能再变更）"
        return f"{clue.number} 现在是“{stage}”，下一步只能是：{allowed}。"
    if cmd.step == "办结":
        return close(db, out, ctx, msg, clue, cmd.note)
    if cmd.step in NEEDS_REASON and not cmd.note:
        return f"请写明理由：线索 {clue.number} {cmd.step} 理由"
    state: dict = {"stage": cmd.step}
    if cmd.step == "受理":
        state |= {"status": "open", "first_response_at": clue.first_response_at or ctx.now}
    cases.append(db, clue.id, actor=msg.sender, action="clue_step", now=ctx.now, note=cmd.note, state=state,
                 step=cmd.step)
    return f"线索 {clue.number}：已记为“{cmd.step}”，下一步可以：{'、'.join(NEXT[cmd.step])}。"


def close(db: Database, out: Outgoing, ctx: Context, msg: Message, clue: Case, note: str) -> str:
    """办结 with its finding; 诬告 is flagged for follow-up; a cleared cadre may be named in the group; the reporter
    hears privately that it was handled (never the finding, never the cadre)."""
    words = note.split()
    outcome = words[0] if words and words[0] in OUTCOMES else None
    if outcome is None:
        return f"请写明结论：线索 {clue.number} 办结 属实/部分属实/不属实/诬告 说明"
    rest = words[1:]
    cleared: Person | None = None
    village: Village | None = None
    if rest and rest[0] == "澄清":
        if outcome not in CLEARABLE:
            return "只有结论为不属实或诬告的，才能为干部澄清正名。"
        if len(rest) < 2:
            return f"请写明为谁澄清：线索 {clue.number} 办结 {outcome} 澄清 干部姓名 说明"
        found = cadre_named(ctx.config, clue, rest[1])
        if found is None:
            return f"{clue.town}没有叫“{rest[1]}”的村干部，请写配置里登记的姓名。"
        village, cleared = found
        rest = rest[2:]
    reason = " ".join(rest)
    cases.append(db, clue.id, actor=msg.sender, action="clue_step", now=ctx.now, note=reason, step="办结",
                 outcome=outcome, cleared=cleared.userid if cleared else None,
                 state={"stage": "办结", "outcome": outcome, "status": "answered", "answered_at": ctx.now,
                        "first_response_at": clue.first_response_at or ctx.now})
    told = tell_reporter(db, out, clue, REPORTER_TOLD.format(number=clue.number))
    lines = [f"线索 {clue.number} 已办结，结论：{outcome}，记入台账；" + TOLD[told]]
    if cleared and village:
        organ = "县纪委监委" if ctx.roles.is_commission(msg.sender) else f"{clue.town}纪委"
        out.clearance(village, organ, cleared)
        lines.append(f"已在{village.name}群里为{cleared.display}澄清正名。")
    if outcome == "诬告":
        lines.append("已标记为诬告陷害，请依规依纪追查，并在台账里跟进。")
    return "\n".join(lines)


def tell_reporter(db: Database, out: Outgoing, clue: Case, text: str) -> str:
    """Privately, the way the reporter wrote; returns how ("told", "held" or "unreachable", a key of TOLD). One
    who wrote through 微信客服 is on personal WeChat, which an app message cannot reach, so the news goes back through
    kf (held for their next message when WeCom's window is closed). One who wrote in a customer group or a plain
    WeChat group is on personal WeChat too, with no private way in: a 1:1 group send would show a cadre who
    reported, so nothing is sent and the inspector is asked to tell them. Anyone else is a member: an app message."""
    came = db.execute("SELECT m.channel FROM cases c JOIN messages m ON m.id = c.message_id WHERE c.id = ?",
                      [clue.id]).fetchone()
    if came and came[0] == "kf":
        return "told" if out.kf_reply(clue.requester, text) else "held"
    if came and came[0] in UNREACHABLE_CHANNELS:
        return "unreachable"
    out.members([clue.requester], text)
    return "told"


def cadre_named(config: Config, clue: Case, name: str) -> tuple[Village, Person] | None:
    """The cadre to clear, by name or userid, among the clue's village's cadres (or, for a clue raised
    privately, the town's): the notice names only someone the configuration knows, never free text."""
    town = config.town(clue.town)
    villages = [v for v in town.villages if v.name == clue.village] or list(town.villages)
    for village in villages:
        people = [*village.cadres, *([village.link_leader] if village.link_leader else [])]
        for person in people:
            if name in (person.name, person.userid):
                return village, person
    return None


def _mine(db: Database, ctx: Context, userid: str, cmd: ClueCommand) -> Case | str:
    """The clue this person may act on: one of their town's, or any town's for the county commission. Anyone
    else, or a number that is no clue, gets the same answer: no such number."""
    found = [c for c in (cases.get_by_id(db, r[0]) for r in
                         db.execute("SELECT id FROM cases WHERE number = ? ORDER BY id", [cmd.number]))
             if c.confidential and ctx.roles.may_handle_clue(userid, c.town) and cmd.town in (None, c.town)]
    if not found:
        return NOT_FOUND
    if len(found) > 1:
        towns = "、".join(c.town for c in found)
        return f"{towns}都有线索 {cmd.number}，请写上镇名，例如“线索 {found[0].town} {cmd.number} …”。"
    return found[0]


def stage_of(clue: Case) -> str:
    return clue.stage or RECEIVED


def place(clue: Case) -> str:
    nxt = "、".join(NEXT[stage_of(clue)]) or "（已办结）"
    done = f"，结论：{clue.outcome}" if clue.outcome else ""
    return f"线索 {clue.number}｜{clue.village}｜{stage_of(clue)}{done}｜下一步可以：{nxt}"


# --- the ledger, for the CLI, the desk and the Excel export ------------------------------------------

@dataclass(frozen=True)
class Step:
    at: datetime
    actor: str           # the person's post and name, or 小微, or 反映人 (never the reporter's id)
    action: str          # 受理, 初步核实 … or what else happened (收到, 进展, 反映人评价 …)
    note: str


@dataclass(frozen=True)
class ClueEntry:
    number: str
    town: str
    village: str
    received_at: datetime
    text: str
    stage: str
    outcome: str | None
    flagged: bool        # 诬告陷害: to be followed up
    cleared: str | None  # the cadre named as cleared, if any
    open: bool
    overdue: bool        # not yet registered (受理) within the acknowledgement limit
    steps: tuple[Step, ...]
    case_id: int = 0     # for links to the clue's own page on the desk


def entries(db: Database, config: Config, now: datetime, *, town: str | None = None,
            received_from: datetime | None = None, received_before: datetime | None = None) -> list[ClueEntry]:
    """The ledger: every clue (of one town, or the county), oldest first, each with its whole history."""
    roles = Roles(config)
    found = []
    for clue in cases.find(db, town=town, confidential=True, since=received_from):
        if clue.status == "released" or (received_before and clue.received_at >= received_before):
            continue
        steps, cleared = [], None
        for event in cases.history(db, clue.id):
            detail = event["detail"]
            action = detail.get("step") if event["action"] == "clue_step" else EVENT_NAMES.get(event["action"])
            if action is None:
                continue
            if detail.get("cleared"):
                person = roles.person(detail["cleared"])
                cleared = person.display if person else detail["cleared"]
            steps.append(Step(datetime.fromisoformat(event["at"]), _who(roles, clue, event["actor"]), action,
                              detail.get("note", "")))
        found.append(ClueEntry(clue.number, clue.town, clue.village, clue.received_at, clue.text, stage_of(clue),
                               clue.outcome, clue.outcome == "诬告", cleared, clue.status != "answered",
                               clue.stage is None and clue.overdue(now), tuple(steps), clue.id))
    return found


def _who(roles, clue: Case, actor: str) -> str:
    if actor == clue.requester:
        return "反映人"
    person = roles.person(actor)
    return person.display if person else actor
