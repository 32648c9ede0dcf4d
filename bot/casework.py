"""The case rules: how a request is taken in, who may do what to it, what each step records, who is told, and
how its deadline presses. Handlers parse and reply; nags and the digest read the deadline status from here.
Residents' follow-ups are in bot/followups.py, the linking of all traffic in bot/traffic.py.

Every function runs inside the caller's write transaction (`db`, `out`) and returns the one line the person
who acted should read back (or None)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlite_utils import Database

from bot import cases, duty, inbox, ledger, wording
from bot.cases import KIND_NAMES, LEVEL_NAMES, LEVELS, REQUEST_KINDS, STATUS_NAMES, Case
from bot.channels import cards
from bot.config import Person, Town, Village
from bot.context import Context
from bot.inbox import Message
from bot.outbound import Outgoing
from bot.urgency import alert_time

USAGE = {
    "认领": "认领 编号", "进展": "进展 编号 进展情况", "办结": "办结 编号 办理结果", "上报": "上报 编号 原因",
    "无法解决": "无法解决 编号 原因", "退回": "退回 编号 原因", "改类": "改类 编号 咨询/求助/建议/公开/举报/闲聊",
    "督办": "督办 编号 意见", "确认": "确认 编号", "我的": "我的", "查看": "查看 编号",
    "转办": "转办 编号 咨询/求助/建议/公开", "交办": "交办 编号 部门 意见",
}
NEEDS_NOTE = {"进展", "办结", "上报", "退回", "改类", "无法解决", "转办", "交办"}
LABEL_WORDS = {"咨询": "consult", "求助": "help", "建议": "suggestion", "公开": "disclosure", "信息公开": "disclosure",
               "举报": "report", "闲聊": "chatter", "催办": "followup"}
ACTION_NAMES = {"opened": "登记", "claimed": "认领", "progress": "进展", "answered": "办结", "escalated": "上报",
                "returned": "退回", "relabeled": "改类", "supervised": "督办", "confirmed": "确认", "rated": "评价",
                "reopened": "不满意，重新办理", "chased": "催办", "forwarded": "移送", "beyond_village": "村里无法解决",
                "responded": "在群里答复", "seconded": "附议", "viewed": "查看",
                "handed_over": "交办"}
LADDER = ("duty", "secretary", "leader", "inspectors")
TRIAGE_THANKS = "收到，已转交有关人员核实处理。"
CLUE_THANKS = ("谢谢您的反映。这件事已保密转交镇纪委处理，不会在群里公开，也不会转给村干部。"
               "如需补充情况，可以私聊小微。")
STAFF_ONLY = "这个命令只有本村干部、镇里工作人员和纪委可以使用。查进度请发“查询 编号”。"
IN_PRIVATE = "请私聊小微办理。"      # all a group ever hears about a clue command: not even whether it exists
NOT_FOUND = "没有找到这个编号。"
CLUE_VERBS = {"认领", "进展", "办结", "查看", "确认", "转办"}   # a clue never goes up, back or to a village cadre
CLUE_ONLY = "线索由镇纪委直接办理，只能用：认领、进展、查看；疑似线索用：确认、转办；受理、处置和办结用“线索 编号 步骤 理由”。"


# --- who is told ---------------------------------------------------------------------------------------

def inspectors(town: Town) -> list[str]:
    return [p.userid for p in town.inspectors]


def town_desk(town: Town, village: Village) -> list[str]:
    """Who takes a case the village passed up: the town's staff and the village's link leader (if any)."""
    return [p.userid for p in town.staff] + ([village.link_leader.userid] if village.link_leader else [])


def county_desk(config) -> list[str]:
    """Who takes a case a town passed up: the county commission; without a [county] in the configuration, the
    admins, so that nothing passed up is dropped."""
    return [p.userid for p in config.county.commission] or list(config.admins)


def holders(db: Database, village: Village, case: Case, day: date,
            on_duty: list[Person] | None = None) -> list[Person]:
    """Who holds a village case: its assignee, else today's duty cadre, else the party secretary.
    on_duty: today's duty cadres when already read (a morning job reads the whole county's at once)."""
    assignee = village.cadre(case.assignee) if case.assignee else None
    if assignee:
        return [assignee]
    if on_duty is None:
        return list(duty.responsible(db, village, day))
    return list(on_duty) or [village.secretary]


def ladder_people(town: Town, village: Village, rung: str) -> list[Person]:
    if rung == "secretary" and village.secretary:
        return [village.secretary]
    if rung == "leader" and village.link_leader:
        return [village.link_leader]
    # No link leader configured: the town's staff press it, and failing them the inspectors.
    return list(town.staff if rung == "leader" and town.staff else town.inspectors)


# --- intake --------------------------------------------------------------------------------------------

def open_request(db: Database, out: Outgoing, ctx: Context, msg: Message, kind: str, confidence: float,
                 sure: bool) -> Case:
    """A resident's request becomes a case with its legal deadline. Sure: the group is answered and the duty
    cadre told; unsure (疑似诉求): the duty cadre is asked to confirm first."""
    village = msg.village
    assert village is not None
    case = cases.open_case(db, message_id=msg.id, town=village.town, village=village.name, kind=kind,
                           text=msg.words, requester=msg.sender, chat_id=msg.chat_id, received_at=msg.received_at,
                           due_at=ctx.due_at(kind, msg.received_at), now=ctx.now, confidence=confidence,
                           status="open" if sure else "unconfirmed")
    officers = duty.responsible(db, village, msg.received_at.date())
    when = alert_time(case.text, ctx.now, ctx.calendar, ctx.config.rules)
    if sure:
        announce(db, out, case, village, officers, when)
    else:
        out.members([c.userid for c in officers], not_before=when, text=(
            f"【疑似诉求 {case.number}】{village.name}群里有一条消息，可能是{case.kind_name}，请确认：\n"
            f"“{wording.snippet(case.text, 80)}”\n"
            f"是诉求请回复“确认 {case.number}”，我会登记并答复群众；不是请回复“改类 {case.number} 闲聊”。"))
    return case


def announce(db: Database, out: Outgoing, case: Case, village: Village, officers: list,
             when: datetime | None = None) -> None:
    """The requester's answer and the duty cadres' cards for a case now open; also when a cadre confirms one. The
    answer names the matter in the resident's own words and says when and who, in words an elderly resident
    reads at a glance (no "求助", "咨询" jargon). Each cadre's card has buttons (认领 · 转镇里 · 查看) that act
    as the typed commands do. when: the cards wait until then (working hours, unless the matter is urgent)."""
    names = "、".join(f"{c.post}{c.name}" for c in officers)
    tell_requester(db, out, case, village, f"收到您说的“{wording.snippet(case.text, 16)}”，已登记，编号 {case.number}，"
                                           f"{wording.day(case.due_at)}前答复您。{names}负责跟进。",
                   mentions=[c.userid for c in officers], purpose="intake")
    title, desc = f"新诉求 {case.number}·{case.kind_name}", f"{village.name}｜期限{wording.day(case.due_at)}"
    detail = (f"内容：{wording.snippet(case.text, 120)}\n"
              f"办完回复“办结 {case.number} 结果”；也可以打字：认领 {case.number}、上报 {case.number} 原因。")
    for cadre in officers:
        task = hashlib.sha1(f"{out.key}:{cadre.userid}".encode()).hexdigest()[:10]
        card = cards.card_body(f"case{case.id}-{out.now:%Y%m%d%H%M%S}-{task}", title, desc,
                               cards.case_buttons(case.number), detail)
        out.card(cadre.userid, card, f"{title}\n{desc}\n{detail}", not_before=when)


Told = Literal["group", "draft", "kf", "kf_held"]
# Where tell_requester put a case's news, as the cadre who acted reads it back (never "群里" for a private case).
TOLD = {"group": "已发到{village}群里", "draft": "已私信交值班干部发到群里", "kf": "已私信告知群众",
        "kf_held": "暂时没能私信给群众（微信客服限制），对方下次发消息时小微会补发"}


def told_line(told: Told, village: Village) -> str:
    return TOLD[told].format(village=village.name)


def tell_requester(db: Database, out: Outgoing, case: Case, village: Village, text: str,
                   mentions: list[str] | tuple[str, ...] = (), purpose: str | None = None) -> Told:
    """News of a case for the resident who raised it, where they raised it: a request raised in the group is
    answered in the group (a customer group's answer is a draft handed to the duty cadre); one raised privately
    through 微信客服, privately. When WeCom's kf window no longer allows a reply (bot/kf_window.py), the case's
    holder is told so privately. Returns where the news went, for the acting cadre's reply."""
    came = db.execute("SELECT m.channel FROM cases c JOIN messages m ON m.id = c.message_id WHERE c.id = ?",
                      [case.id]).fetchone()
    if not (came and came[0] == "kf"):
        out.group(village, text, mentions=[case.requester, *mentions], case_id=case.id, purpose=purpose)
        return "draft" if village.group == "customer" else "group"
    if out.kf_reply(case.requester, text):
        return "kf"
    if case.confidential:
        return "kf_held"
    out.members([p.userid for p in holders(db, village, case, out.now.date())], (
        f"【私信未送达 {case.number}】这件诉求是群众通过微信客服私信小微提的。微信只允许在对方最后一条消息后"
        f"48小时内回复5条，这条没能发给对方：“{wording.snippet(text, 60)}”\n"
        "对方下次发消息时小微会补发；要尽快告知的，请当面或电话联系。"))
    return "kf_held"


def open_clue(db: Database, out: Outgoing, ctx: Context, msg: Message, confidence: float,
              triage: bool = False) -> str:
    """A report of misconduct: a clue for the town's inspectors only, never echoed, never shown to the village.
    triage: the reading is unsure (疑似线索); the inspectors confirm it as a clue or pass it on as a request."""
    # A private report: the town of the group the resident last wrote in (a county may have several towns).
    village = msg.village or ctx.config.village_by_name(inbox.last_village(db, msg.sender) or "")
    town = ctx.config.town(village.town) if village else ctx.config.towns[0]
    clue = cases.open_case(db, message_id=msg.id, town=town.name, village=village.name if village else "（私聊）",
                           kind="report", text=msg.words, requester=msg.sender, chat_id=msg.chat_id,
                           received_at=msg.received_at, now=ctx.now, confidence=confidence,
                           due_at=ctx.due_at("consult", msg.received_at),  # acknowledged within 2 working days
                           status="unconfirmed" if triage else "open")
    told = inspectors(town)
    if triage:
        out.members(told, (
            f"【疑似线索 {clue.number}】{clue.village}\n收到：{wording.moment(clue.received_at)}\n内容：{clue.text}\n"
            f"小微拿不准这是不是反映干部问题。是请回复“确认 {clue.number}”；不是请回复“转办 {clue.number} 求助”"
            f"（或咨询、建议、公开），会作为普通诉求交村里办理。"))
        cases.append(db, clue.id, actor="小微", action="forwarded", now=ctx.now, note="疑似线索，请纪委甄别",
                     to=told, channel="app")
        return TRIAGE_THANKS
    out.members(told, (
        f"【问题线索 {clue.number}】{clue.village}\n收到：{wording.moment(clue.received_at)}\n"
        f"内容：{clue.text}\n反映人平台ID：{clue.requester}（请勿向村干部透露）\n"
        f"受理请回复“线索 {clue.number} 受理”，再按处置方式回复，如“线索 {clue.number} 初步核实 理由”；"
        f"办结回复“线索 {clue.number} 办结 属实/部分属实/不属实/诬告 说明”。"))
    cases.append(db, clue.id, actor="小微", action="forwarded", now=ctx.now,
                 note="已通过企业微信应用私信移送镇纪委", to=told, channel="app")
    return CLUE_THANKS


# --- cadres' commands ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    verb: str
    number: str | None
    note: str


def command(db: Database, out: Outgoing, ctx: Context, msg: Message, cmd: Command) -> str | None:
    """Check who may act on which case, then carry the command out."""
    if cmd.verb == "refuse":
        return STAFF_ONLY
    if cmd.verb == "我的":
        return mine(db, ctx, msg.sender)
    if cmd.number is None or (cmd.verb in NEEDS_NOTE and not cmd.note):
        return f"用法：{USAGE[cmd.verb]}"
    case = cases.get(db, cmd.number, town=_town_of(ctx, msg.sender))
    if cases.is_clue_number(cmd.number) or (case and case.confidential):
        # Clues are the inspectors' alone, and only in private; to anyone else they do not exist.
        if msg.in_group:
            return IN_PRIVATE
        if not (case and ctx.roles.is_inspector(msg.sender, case.town)):
            return NOT_FOUND
    if case is None:
        return f"没有找到编号 {cmd.number}。"
    if case.confidential and cmd.verb not in CLUE_VERBS:
        return CLUE_ONLY
    village = ctx.config.village_by_name(case.village)
    if not case.confidential and not (village and ctx.roles.may_act_on(msg.sender, village)) \
            and not county_may_act(ctx, msg.sender, case, cmd.verb):
        return f"编号 {case.number} 是{case.village}的诉求，您没有办理权限。"
    tapped = msg.channel == cards.CHANNEL
    line = (tapped and _stale_tap(ctx, case, cmd.verb, msg.sender)) or VERBS[cmd.verb](
        db, out, ctx, msg, cmd.note, case, village)
    if tapped and cmd.verb in cards.DONE:
        out.card_done(msg.sender, msg.msgid, cards.DONE[cmd.verb])   # the tap is done: its buttons grey out
    return line


def _stale_tap(ctx: Context, case: Case, verb: str, userid: str) -> str | None:
    """A card's button may be tapped after its case moved on (claimed by another cadre, passed up, answered): a
    typed command says what it means, a tap on an old card does not take the case away or pass it up twice."""
    if verb not in cards.DONE:
        return None
    if not case.active:
        return f"编号 {case.number} {STATUS_NAMES[case.status]}。"
    if verb == "认领" and case.assignee and case.assignee != userid:
        who = ctx.roles.person(case.assignee)
        return f"编号 {case.number} 已由{who.display if who else '其他干部'}认领。"
    if verb == "上报" and case.level != "village":
        return f"编号 {case.number} 已转{LEVEL_NAMES[case.level]}里办理。"
    return None


def county_may_act(ctx: Context, userid: str, case: Case, verb: str) -> bool:
    """The county commission supervises (督办) and looks at any case, and handles those passed up to it; a
    department's contact handles the cases handed to that department."""
    if ctx.roles.is_commission(userid):
        return case.level == "county" or verb in ("督办", "查看", "交办")
    return case.level == "county" and case.department is not None and ctx.roles.department_of(userid) == case.department


def _town_of(ctx: Context, userid: str) -> str | None:
    """Clue numbers run per town: an inspector's J2026-007 is his own town's."""
    roles = ctx.roles.of(userid)
    return roles[0].town.name if roles else None


def claim(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str | None:
    cases.append(db, case.id, actor=msg.sender, action="claimed", now=ctx.now,
                 state={"assignee": msg.sender, "first_response_at": case.first_response_at or ctx.now})
    if case.confidential:
        return f"已认领线索 {case.number}。"
    who = ctx.roles.person(msg.sender)
    # News for the residents, not an order to the cadre: who took it and by when they will hear.
    tell_requester(db, out, case, village, f"编号 {case.number} 已由{who.display if who else '干部'}认领办理，"
                                           f"{wording.day(case.due_at)}前答复。", purpose="claim")
    return None if msg.in_group else f"已认领 {case.number}，期限{wording.day(case.due_at)}。"


def progress(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str | None:
    cases.append(db, case.id, actor=msg.sender, action="progress", now=ctx.now, note=note,
                 state={"first_response_at": case.first_response_at or ctx.now})
    if case.confidential:
        return f"已记录线索 {case.number} 的进展。"
    told = tell_requester(db, out, case, village, f"编号 {case.number} 进展：{note}", purpose="progress")
    return None if msg.in_group else f"已记录 {case.number} 的进展，{told_line(told, village)}。"


def answer(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str | None:
    if case.confidential:   # a clue closes through its ledger (bot/clue_ledger.py), with a finding
        return f"线索要按台账的步骤办结（先受理、处置，再写结论）：线索 {case.number} 办结 属实/部分属实/不属实/诬告 说明"
    cases.append(db, case.id, actor=msg.sender, action="answered", now=ctx.now, note=note,
                 state={"status": "answered", "answered_at": ctx.now,
                        "first_response_at": case.first_response_at or ctx.now})
    told = tell_requester(db, out, case, village, f"编号 {case.number} 已办结：{note}\n满意请回复“满意 {case.number}”，"
                                                  f"不满意请回复“不满意 {case.number} 原因”。", purpose="result")
    # Say where the result went (the group, a draft for the duty cadre, the resident's private chat), not
    # that it is posted: only tell_requester knows.
    return None if msg.in_group else f"{case.number} 已办结，结果{told_line(told, village)}。"


def pass_up(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str | None:
    if case.level == "county":
        return f"{case.number} 已在县纪委监委办理，不能再上报。"
    level = LEVELS[LEVELS.index(case.level) + 1]
    due = ctx.due_at(case.kind, ctx.now)
    cases.append(db, case.id, actor=msg.sender, action="escalated", now=ctx.now, note=note,
                 state={"level": level, "due_at": due, "escalate_by": None, "assignee": None})
    town = ctx.config.town(case.town)
    told = town_desk(town, village) if level == "town" else county_desk(ctx.config)
    how = ""
    if level == "county" and ctx.config.county.departments:
        names = "、".join(d.name for d in ctx.config.county.departments)
        how = f"\n交有关部门办理请回复“交办 {case.number} 部门 意见”（可交：{names}）；督办请回复“督办 {case.number} 意见”。"
    out.members(told + inspectors(town),
                f"【上报 {case.number}·{case.kind_name}】{case.village}报{LEVEL_NAMES[level]}里办理\n"
                f"诉求：{wording.snippet(case.text, 100)}\n原因：{note}\n期限：{wording.day(due)}" + how)
    tell_requester(db, out, case, village, f"编号 {case.number} 村里解决不了，已转{LEVEL_NAMES[level]}里办理"
                                           f"（{wording.snippet(note, 20)}），{wording.day(due)}前答复您。", purpose="passed_up")
    return None if msg.in_group else f"{case.number} 已上报{LEVEL_NAMES[level]}里。"


def beyond_village(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str:
    """The village says it cannot solve this: it must be passed up within 1 working day (nagged until then)."""
    by = ctx.due_at("escalation", ctx.now)
    cases.append(db, case.id, actor=msg.sender, action="beyond_village", now=ctx.now, note=note,
                 state={"escalate_by": by})
    return f"已记录。请在{wording.day(by)}前用“上报 {case.number} 原因”转镇里。"


def send_back(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str:
    if case.level == "village":
        return f"{case.number} 本来就在村里办理。"
    level = LEVELS[LEVELS.index(case.level) - 1]
    due = ctx.due_at(case.kind, ctx.now)
    cases.append(db, case.id, actor=msg.sender, action="returned", now=ctx.now, note=note,
                 state={"level": level, "due_at": due, "assignee": None})
    officers = duty.responsible(db, village, ctx.now.date())
    out.members([c.userid for c in officers] + [village.secretary.userid],
                f"【退回 {case.number}】{LEVEL_NAMES[level]}里继续办理，期限{wording.day(due)}\n原因：{note}")
    return f"{case.number} 已退回{LEVEL_NAMES[level]}里。"


def relabel(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str:
    kind = LABEL_WORDS.get(note.split()[0] if note else "")
    if kind is None:
        return f"用法：{USAGE['改类']}"
    # A correction is kept for training: `xiaowei corrections export`, then `xiaowei train`.
    row = db["corrections"].insert({"case_id": case.id, "text": case.text, "old_label": case.kind, "label": kind,
                                    "actor": msg.sender, "at": ctx.now.isoformat()})
    ledger.add(db, "corrections", row.last_rowid)
    state: dict = {"kind": kind}
    if kind == "chatter":
        state["status"] = "dismissed"
    elif kind in REQUEST_KINDS:
        state["due_at"] = ctx.due_at(kind, case.received_at)
    cases.append(db, case.id, actor=msg.sender, action="relabeled", now=ctx.now, note=f"{case.kind} → {kind}",
                 state=state)
    if kind == "report":
        out.members(inspectors(ctx.config.town(case.town)),
                    f"【问题线索 {case.number}】{case.village}（干部改类为举报）\n内容：{case.text}")
    return f"{case.number} 已改为{KIND_NAMES[kind]}，这条纠正会用于改进识别。"


def supervise(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str:
    if not (ctx.roles.is_inspector(msg.sender, case.town) or ctx.roles.is_commission(msg.sender)):
        return "督办只能由镇纪委或县纪委监委人员发起。"
    cases.append(db, case.id, actor=msg.sender, action="supervised", now=ctx.now, note=note,
                 state={"supervised": 1})
    department = ctx.config.county.department(case.department) if case.department else None
    held = [p.userid for p in department.contacts] if department and case.level == "county" else \
        [case.assignee or village.secretary.userid, village.secretary.userid]
    out.members(held,
                f"【纪委督办 {case.number}】{case.village}·{case.kind_name}，期限{wording.day(case.due_at)}\n"
                f"意见：{note or '请抓紧办理'}")
    return f"已对 {case.number} 督办。"


def confirm(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str | None:
    if case.status != "unconfirmed":
        return f"{case.number} 不是待确认的诉求。"
    if case.confidential:
        cases.append(db, case.id, actor=msg.sender, action="confirmed", now=ctx.now, state={"status": "open"})
        return f"已确认 {case.number} 为问题线索，记入台账。"
    cases.append(db, case.id, actor=msg.sender, action="confirmed", now=ctx.now, state={"status": "open"})
    confirmed = cases.get_by_id(db, case.id)
    announce(db, out, confirmed, village, duty.responsible(db, village, ctx.now.date()),
             alert_time(confirmed.text, ctx.now, ctx.calendar, ctx.config.rules))
    return None


def show(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str:
    backed = cases.seconds(db, case)
    lines = [f"编号 {case.number}｜{case.village}｜{case.kind_name}｜{STATUS_NAMES[case.status]}"
             f"｜{LEVEL_NAMES[case.level]}里｜期限{wording.day(case.due_at)}" + (f"｜附议 {backed} 人" if backed else ""),
             f"内容：{wording.snippet(case.text, 100)}"]
    for event in cases.history(db, case.id)[-5:]:
        who = ctx.roles.person(event["actor"])
        note = event["detail"].get("note", "")
        lines.append(f"· {wording.moment(datetime.fromisoformat(event['at']))} "
                     f"{who.name if who else ('群众' if event['actor'] != '小微' else '小微')} "
                     f"{ACTION_NAMES.get(event['action'], event['action'])}{'：' + note if note else ''}")
    return "\n".join(lines)


def mine(db: Database, ctx: Context, userid: str) -> str:
    village = ctx.roles.home_village(userid)
    held = [c for c in cases.find(db, statuses=cases.ACTIVE)
            if c.assignee == userid or (c.assignee is None and village and c.village == village.name)]
    if not held:
        return "您手上没有未办结的诉求。"
    return "您的未办结诉求：\n" + "\n".join(
        f"{c.number} {c.kind_name} {wording.snippet(c.text, 16)} "
        f"{'已超期' if c.overdue(ctx.now) else wording.day(c.due_at)}" for c in held[:20])


def release(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village | None) -> str:
    """The inspectors judge a 疑似线索 not to be about a cadre: it becomes an ordinary request of its village,
    with a number of its own (the clue's number never leaves the inspectors)."""
    kind = LABEL_WORDS.get(note.split()[0] if note else "")
    if case.status != "unconfirmed" or not case.confidential:
        return f"{case.number} 不是待甄别的疑似线索。"
    if kind not in REQUEST_KINDS or village is None:
        return f"用法：{USAGE['转办']}（只有在某个村的群里收到的才能转办）"
    cases.append(db, case.id, actor=msg.sender, action="released", now=ctx.now, note=KIND_NAMES[kind],
                 state={"status": "released"})
    request = cases.open_case(db, message_id=None, town=village.town, village=village.name, kind=kind,
                              text=case.text, requester=case.requester, chat_id=case.chat_id,
                              received_at=case.received_at, due_at=ctx.due_at(kind, ctx.now), now=ctx.now)
    announce(db, out, request, village, duty.responsible(db, village, ctx.now.date()),
             alert_time(request.text, ctx.now, ctx.calendar, ctx.config.rules))
    return f"已把 {case.number} 转为{village.name}的{KIND_NAMES[kind]}，编号 {request.number}。"


def hand_over(db, out, ctx: Context, msg: Message, note: str, case: Case, village: Village) -> str:
    """交办: the county commission hands a case passed up to it to a competent department, which gets the kind's
    limit; the commission supervises it from there."""
    if not ctx.roles.is_commission(msg.sender):
        return "交办只能由县纪委监委人员发起。"
    if case.level != "county":
        return f"{case.number} 还没有上报到县纪委监委，不能交办。"
    name, _, why = note.partition(" ")
    department = ctx.config.county.department(name)
    if department is None:
        names = "、".join(d.name for d in ctx.config.county.departments) or "（配置里还没有部门）"
        return f"没有“{name}”这个部门。可交办：{names}"
    due = ctx.due_at(case.kind, ctx.now)
    cases.append(db, case.id, actor=msg.sender, action="handed_over", now=ctx.now, note=why.strip(),
                 state={"department": department.name, "due_at": due, "assignee": None, "supervised": 1})
    out.members([p.userid for p in department.contacts],
                f"【县纪委监委交办 {case.number}·{case.kind_name}】{case.village}\n"
                f"诉求：{wording.snippet(case.text, 100)}\n意见：{why.strip() or '请依职责办理'}\n期限：{wording.day(due)}\n"
                f"进展请回复“进展 {case.number} 情况”，办结请回复“办结 {case.number} 结果”。")
    out.group(village, f"编号 {case.number} 已由县纪委监委交{department.name}办理，{wording.day(due)}前答复您。",
              mentions=[case.requester])
    return f"已把 {case.number} 交{department.name}办理，期限{wording.day(due)}，县纪委监委督办。"


VERBS = {"认领": claim, "进展": progress, "办结": answer, "上报": pass_up, "无法解决": beyond_village,
         "退回": send_back, "改类": relabel, "督办": supervise, "确认": confirm, "查看": show, "转办": release,
         "交办": hand_over}


# --- deadlines: what nags and the digest read ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Pressing:
    case: Case
    deadline: datetime
    beyond: bool          # the village said it cannot solve it: the deadline is for passing it up
    overdue_days: int     # working days past the deadline; 0 while it is still due
    today: date

    def status(self) -> str:
        if self.overdue_days:
            return ("上报" if self.beyond else "") + f"已超期{self.overdue_days}个工作日"
        if self.deadline.date() == self.today:
            return "须今天内上报镇里" if self.beyond else "今天到期"
        due = wording.day(self.deadline)
        return f"须{due}前上报镇里" if self.beyond else f"{due}到期"


def pressing(case: Case, calendar, at: datetime) -> Pressing | None:
    """Due within one working day, due today, or overdue (with the working days past); else None."""
    beyond = case.level == "village" and case.escalate_by is not None
    deadline = case.escalate_by if beyond else case.due_at
    if at <= deadline:
        if calendar.workdays_between(at.date(), deadline.date()) > 1:
            return None
        return Pressing(case, deadline, beyond, 0, at.date())
    overdue = max(1, calendar.workdays_between(deadline.date(), at.date()))
    return Pressing(case, deadline, beyond, overdue, at.date())


def rungs(p: Pressing, holder_is_secretary: bool = False) -> list[str]:
    """Who is pressed today. A village case: its holder every day, plus the rung its overdue days have reached;
    a holder who is the party secretary is not asked to urge himself: that rung is the link leader's."""
    if p.case.confidential:
        return ["inspectors"]                  # clues are the inspectors' own ledger
    if p.case.level == "county":
        # A department it was handed to is pressed like a holder; overdue, the supervising commission hears.
        held = ["duty"] if p.case.department else []
        return held + (["inspectors"] if p.overdue_days else [])
    if p.case.level == "town":
        return ["duty"] if p.overdue_days <= 1 else ["duty", "inspectors"]
    climbed = LADDER[min(max(p.overdue_days - 1, 0), 3)]
    if climbed == "secretary" and holder_is_secretary:
        climbed = "leader"
    return list(dict.fromkeys(["duty", climbed]))
