"""Cadres' short commands: 认领 进展 办结 上报 无法解决 退回 改类 督办 确认 我的 查看.
Only the village's own cadres, its town's staff and leaders, and the inspectors may act on a case."""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot import cases, duty, wording
from bot.cases import LABEL_WORDS, LEVEL_NAMES, LEVELS, Case
from bot.inbox import Message
from handlers.requests import announce

USAGE = {
    "认领": "认领 编号", "进展": "进展 编号 进展情况", "办结": "办结 编号 办理结果", "上报": "上报 编号 原因",
    "无法解决": "无法解决 编号 原因", "退回": "退回 编号 原因", "改类": "改类 编号 咨询/求助/建议/公开/举报/闲聊",
    "督办": "督办 编号 意见", "确认": "确认 编号", "我的": "我的", "查看": "查看 编号",
}
NEEDS_NOTE = {"进展", "办结", "上报", "退回", "改类", "无法解决"}
COMMAND = re.compile(r"^(" + "|".join(sorted(USAGE, key=len, reverse=True)) + r")\s*(J?\d{3,6})?\s*(.*)$", re.I | re.S)


@dataclass(frozen=True)
class Command:
    verb: str
    number: str | None
    note: str


def match(msg: Message, bot) -> Command | None:
    found = COMMAND.match(bot.own_words(msg))
    if not found:
        return None
    verb, number, note = found[1], found[2], found[3].strip()
    if not bot.roles.is_staff(msg.sender):
        # A resident's "办结了吗" is not a command; only a verb with a case number is refused outright.
        return Command("refuse", number, "") if number else None
    return Command(verb, number.upper() if number else None, note)


async def act(msg: Message, cmd: Command, bot) -> None:
    await bot.commit(lambda db, out: _run(db, out, msg, cmd, bot), key=f"m{msg.id}")


def _run(db, out, msg: Message, cmd: Command, bot) -> None:
    if cmd.verb == "refuse":
        return out.reply(msg, "这个命令只有本村干部、镇里工作人员和纪委可以使用。查进度请发“查询 编号”。")
    if cmd.verb == "我的":
        return out.reply(msg, _mine(db, msg.sender, bot))
    if cmd.number is None or (cmd.verb in NEEDS_NOTE and not cmd.note):
        return out.reply(msg, f"用法：{USAGE[cmd.verb]}")
    case = cases.get(db, cmd.number)
    village = bot.config.village_by_name(case.village) if case else None
    if case and case.confidential:
        # Clues are the inspectors' alone; to anyone else they do not exist.
        allowed = bot.roles.is_inspector(msg.sender, case.town)
        case = case if allowed else None
    elif case and not (village and bot.roles.may_act_on(msg.sender, village)):
        return out.reply(msg, f"编号 {case.number} 是{case.village}的诉求，您没有办理权限。")
    if case is None:
        return out.reply(msg, f"没有找到编号 {cmd.number}。")
    ACTIONS[cmd.verb](db, out, msg, cmd, case, village, bot)


def _claim(db, out, msg, cmd, case: Case, village, bot) -> None:
    now = bot.clock.now()
    cases.append(db, case.id, actor=msg.sender, action="claimed", now=now,
                 state={"assignee": msg.sender, "first_response_at": case.first_response_at or now})
    out.reply(msg, f"已认领 {case.number}，请在{wording.day(case.due_at)}前办结。")


def _progress(db, out, msg, cmd, case: Case, village, bot) -> None:
    now = bot.clock.now()
    cases.append(db, case.id, actor=msg.sender, action="progress", now=now, note=cmd.note,
                 state={"first_response_at": case.first_response_at or now})
    if case.confidential:
        return out.reply(msg, f"已记录线索 {case.number} 的进展。")
    out.group(village, f"编号 {case.number} 进展：{cmd.note}", mentions=[case.requester])
    if not msg.in_group:
        out.reply(msg, f"已记录 {case.number} 的进展，并告知群众。")


def _finish(db, out, msg, cmd, case: Case, village, bot) -> None:
    now = bot.clock.now()
    cases.append(db, case.id, actor=msg.sender, action="answered", now=now, note=cmd.note,
                 state={"status": "answered", "answered_at": now, "first_response_at": case.first_response_at or now})
    if case.confidential:
        return out.reply(msg, f"线索 {case.number} 已办结并记入台账。")
    out.group(village, f"编号 {case.number} 已办结：{cmd.note}\n满意请回复“满意 {case.number}”，"
                       f"不满意请回复“不满意 {case.number} 原因”。", mentions=[case.requester])
    if not msg.in_group:
        out.reply(msg, f"{case.number} 已办结，结果已发到{case.village}群里。")


def _pass_up(db, out, msg, cmd, case: Case, village, bot) -> None:
    if case.level == "county":
        return out.reply(msg, f"{case.number} 已在县纪委监委办理，不能再上报。")
    level = LEVELS[LEVELS.index(case.level) + 1]
    due = bot.due_at(case.kind, bot.clock.now())
    cases.append(db, case.id, actor=msg.sender, action="escalated", now=bot.clock.now(), note=cmd.note,
                 state={"level": level, "due_at": due, "escalate_by": None, "assignee": None})
    town = bot.config.town(case.town)
    told = ([p.userid for p in town.staff] + [village.link_leader.userid] if village.link_leader else []) \
        if level == "town" else list(bot.config.admins)
    out.members(told + [p.userid for p in town.inspectors],
                f"【上报 {case.number}·{case.kind_name}】{case.village}报{LEVEL_NAMES[level]}里办理\n"
                f"诉求：{wording.snippet(case.text, 100)}\n原因：{cmd.note}\n期限：{wording.day(due)}")
    out.group(village, f"编号 {case.number} 已转{LEVEL_NAMES[level]}里办理，{wording.day(due)}前答复。")
    if not msg.in_group:
        out.reply(msg, f"{case.number} 已上报{LEVEL_NAMES[level]}里。")


def _beyond(db, out, msg, cmd, case: Case, village, bot) -> None:
    """The village says it cannot solve this: it must be passed up within 1 working day (nagged until then)."""
    by = bot.due_at("escalation", bot.clock.now())
    cases.append(db, case.id, actor=msg.sender, action="beyond_village", now=bot.clock.now(), note=cmd.note,
                 state={"escalate_by": by})
    out.reply(msg, f"已记录。请在{wording.day(by)}前用“上报 {case.number} 原因”转镇里。")


def _return(db, out, msg, cmd, case: Case, village, bot) -> None:
    if case.level == "village":
        return out.reply(msg, f"{case.number} 本来就在村里办理。")
    level = LEVELS[LEVELS.index(case.level) - 1]
    due = bot.due_at(case.kind, bot.clock.now())
    cases.append(db, case.id, actor=msg.sender, action="returned", now=bot.clock.now(), note=cmd.note,
                 state={"level": level, "due_at": due, "assignee": None})
    officers = duty.responsible(db, village, bot.clock.now().date())
    out.members([c.userid for c in officers] + [village.secretary.userid],
                f"【退回 {case.number}】{LEVEL_NAMES[level]}里继续办理，期限{wording.day(due)}\n原因：{cmd.note}")
    out.reply(msg, f"{case.number} 已退回{LEVEL_NAMES[level]}里。")


def _relabel(db, out, msg, cmd, case: Case, village, bot) -> None:
    kind = LABEL_WORDS.get(cmd.note.split()[0] if cmd.note else "")
    if kind is None:
        return out.reply(msg, f"用法：{USAGE['改类']}")
    now = bot.clock.now()
    db.execute("INSERT INTO corrections (case_id, text, old_label, label, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
               [case.id, case.text, case.kind, kind, msg.sender, now.isoformat()])
    state: dict = {"kind": kind}
    if kind == "chatter":
        state["status"] = "dismissed"
    elif kind in cases.REQUEST_KINDS:
        state["due_at"] = bot.due_at(kind, case.received_at)
    cases.append(db, case.id, actor=msg.sender, action="relabeled", now=now, note=f"{case.kind} → {kind}",
                 state=state)
    if kind == "report":
        town = bot.config.town(case.town)
        out.members([p.userid for p in town.inspectors], f"【问题线索 {case.number}】{case.village}（干部改类为举报）\n"
                                                          f"内容：{case.text}")
    out.reply(msg, f"{case.number} 已改为{cases.KIND_NAMES[kind]}，这条纠正会用于改进识别。")


def _supervise(db, out, msg, cmd, case: Case, village, bot) -> None:
    if not bot.roles.is_inspector(msg.sender, case.town):
        return out.reply(msg, "督办只能由镇纪委人员发起。")
    cases.append(db, case.id, actor=msg.sender, action="supervised", now=bot.clock.now(), note=cmd.note,
                 state={"supervised": 1})
    out.members([case.assignee or village.secretary.userid, village.secretary.userid],
                f"【纪委督办 {case.number}】{case.village}·{case.kind_name}，期限{wording.day(case.due_at)}\n"
                f"意见：{cmd.note or '请抓紧办理'}")
    out.reply(msg, f"已对 {case.number} 督办。")


def _confirm(db, out, msg, cmd, case: Case, village, bot) -> None:
    if case.status != "unconfirmed":
        return out.reply(msg, f"{case.number} 不是待确认的诉求。")
    cases.append(db, case.id, actor=msg.sender, action="confirmed", now=bot.clock.now(), state={"status": "open"})
    announce(out, cases.get_by_id(db, case.id), village, duty.responsible(db, village, bot.clock.now().date()))


def _show(db, out, msg, cmd, case: Case, village, bot) -> None:
    lines = [f"编号 {case.number}｜{case.village}｜{case.kind_name}｜{cases.STATUS_NAMES[case.status]}"
             f"｜{LEVEL_NAMES[case.level]}里｜期限{wording.day(case.due_at)}", f"内容：{wording.snippet(case.text, 100)}"]
    for event in cases.history(db, case.id)[-5:]:
        who = bot.roles.person(event["actor"])
        note = event["detail"].get("note", "")
        lines.append(f"· {wording.moment(cases.datetime.fromisoformat(event['at']))} "
                     f"{who.name if who else ('群众' if event['actor'] != '小微' else '小微')} "
                     f"{ACTION_NAMES.get(event['action'], event['action'])}{'：' + note if note else ''}")
    out.reply(msg, "\n".join(lines))


def _mine(db, userid: str, bot) -> str:
    village = bot.roles.home_village(userid)
    mine = [c for c in cases.find(db, statuses=("open", "unconfirmed"))
            if c.assignee == userid or (c.assignee is None and village and c.village == village.name)]
    if not mine:
        return "您手上没有未办结的诉求。"
    now = bot.clock.now()
    return "您的未办结诉求：\n" + "\n".join(
        f"{c.number} {c.kind_name} {wording.snippet(c.text, 16)} {'已超期' if c.overdue(now) else wording.day(c.due_at)}"
        for c in mine[:20])


ACTION_NAMES = {"opened": "登记", "claimed": "认领", "progress": "进展", "answered": "办结", "escalated": "上报",
                "returned": "退回", "relabeled": "改类", "supervised": "督办", "confirmed": "确认", "rated": "评价",
                "reopened": "不满意，重新办理", "chased": "催办", "forwarded": "移送", "beyond_village": "村里无法解决"}
ACTIONS = {"认领": _claim, "进展": _progress, "办结": _finish, "上报": _pass_up, "无法解决": _beyond, "退回": _return,
           "改类": _relabel, "督办": _supervise, "确认": _confirm, "查看": _show}
