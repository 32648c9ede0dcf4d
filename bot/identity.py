"""亮明身份: in a customer village's group every configured cadre must be a member, with a group nickname that shows
name and post (文书-陈芳), and the group's owner must be the configured one (the owner confirms every group send).
Checked each morning (schedules/identity.py) and at once when WeCom reports a member change (`group_changed`);
each check is stored, and each finding is told once a day: a cadre privately, a wrong owner to admins and inspectors."""
from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

import aiohttp
from sqlite_utils import Database

from bot.casework import inspectors
from bot.channels.customer import CustomerGroup, GroupChange, groupchat_members
from bot.channels.wecom import WeComError
from bot.config import Cadre, Village
from bot.context import JobContext
from bot.jobs import Job
from bot.outbound import Outgoing

log = logging.getLogger("xiaowei.identity")
MISSING, UNLABELLED, OWNER = "missing", "unlabelled", "owner"
# Organisation words a post starts with; what is left is how a group shows the post in short (党支部书记 → 书记).
ORG_PREFIXES = ("村民委员会", "居民委员会", "社区", "村委会", "居委会", "村委", "党总支", "党支部", "党委", "村")
ALIASES = {"书记": ("支书",), "主任": ("村主任", "居委主任")}
# Changes that cannot move a cadre or the owner: no re-check.
COSMETIC = ("change_name", "change_notice")
FETCH_FAILED = (WeComError, aiohttp.ClientError, asyncio.TimeoutError)


def short_post(post: str) -> str:
    rest = post.strip()
    changed = True
    while changed:
        changed = False
        for prefix in ORG_PREFIXES:
            if rest.startswith(prefix) and len(rest) - len(prefix) >= 2:
                rest, changed = rest[len(prefix):], True
                break
    return rest


def post_forms(post: str) -> tuple[str, ...]:
    short = short_post(post)
    return tuple(dict.fromkeys((post.strip(), short, *ALIASES.get(short, ())))) if post.strip() else ()


def expected_nickname(cadre: Cadre) -> str:
    return f"{short_post(cadre.post)}-{cadre.name}" if cadre.post.strip() else cadre.name


def shows_identity(nickname: str, cadre: Cadre) -> bool:
    """Tolerant: the nickname holds the cadre's name and the post or its short form, in any order and with any
    separator (文书-陈芳, 陈芳（文书）, 城南村文书 陈芳); a cadre with no post configured needs the name only."""
    flat = "".join(unicodedata.normalize("NFKC", nickname).split())
    forms = post_forms(cadre.post)
    return cadre.name in flat and (not forms or any(form in flat for form in forms))


@dataclass(frozen=True)
class Finding:
    problem: str        # missing | unlabelled | owner
    userid: str         # the cadre; for a wrong owner, the group's actual owner
    nickname: str = ""  # the nickname seen in the group
    expected: str = ""  # the nickname to set; for a wrong owner, the configured owner's userid


@dataclass(frozen=True)
class Check:
    village: Village
    owner: str
    findings: tuple[Finding, ...]

    @property
    def owner_ok(self) -> bool:
        return not any(f.problem == OWNER for f in self.findings)

    @property
    def shown(self) -> int:
        wrong = {f.userid for f in self.findings if f.problem in (MISSING, UNLABELLED)}
        return sum(c.userid not in wrong for c in self.village.cadres)


def check(village: Village, group: CustomerGroup) -> Check:
    members = {m.userid: m for m in group.members if not m.is_external}
    findings: list[Finding] = []
    for cadre in village.cadres:
        member = members.get(cadre.userid)
        if member is None:
            findings.append(Finding(MISSING, cadre.userid, expected=expected_nickname(cadre)))
        elif not shows_identity(member.group_nickname, cadre):
            findings.append(Finding(UNLABELLED, cadre.userid, member.group_nickname, expected_nickname(cadre)))
    if village.group_owner and group.owner != village.group_owner:
        findings.append(Finding(OWNER, group.owner, expected=village.group_owner))
    return Check(village, group.owner, tuple(findings))


def record(db: Database, result: Check, at: datetime, trigger: str) -> int:
    check_id = db["identity_checks"].insert({
        "village": result.village.name, "checked_at": at.isoformat(), "trigger": trigger, "owner": result.owner,
        "owner_ok": int(result.owner_ok), "cadres": len(result.village.cadres), "shown": result.shown}).last_pk
    db["identity_findings"].insert_all([{"check_id": check_id, "userid": f.userid, "problem": f.problem,
                                         "nickname": f.nickname, "expected": f.expected} for f in result.findings])
    return check_id


def _name(ctx: JobContext, userid: str) -> str:
    person = ctx.roles.person(userid)
    return person.name if person else f"未登记的成员（{userid}）"


def tell(db: Database, out: Outgoing, ctx: JobContext, result: Check, finding: Finding) -> None:
    village = result.village
    if finding.problem == OWNER:
        town = ctx.config.town(village.town)
        actual, wanted = _name(ctx, finding.userid), _name(ctx, finding.expected)
        out.members(inspectors(town), f"【亮明身份】{village.name}客户群的群主现在是{actual}，不是登记的群主{wanted}。"
                                      "请核实是否换了群主。")
        out.alert_admins(f"identity-owner:{village.name}:{finding.userid}:{ctx.day}",
                         f"{village.name}客户群的群主是 {finding.userid}"
                         f"（{'未登记' if ctx.roles.person(finding.userid) is None else actual}），"
                         f"配置里的 owner 是 {finding.expected}。"
                         "群发只能由群主确认；如果确实换了群主，请改这个村的 owner。")
        return
    if finding.problem == MISSING:
        owner = _name(ctx, result.owner or village.group_owner)
        text = (f"【亮明身份】你还不在{village.name}的客户群里。请联系群主{owner}拉你进群，"
                f"进群后请把群昵称改为：{finding.expected}")
    else:
        seen = f"是「{finding.nickname}」，群众看不出你的姓名和职务" if finding.nickname else "还没有设置"
        text = (f"【亮明身份】你在{village.name}客户群的群昵称{seen}。请把群昵称改为：{finding.expected}"
                "（群聊信息 → 我在本群的昵称）")
    out.members([finding.userid], text)


def target(result: Check, finding: Finding) -> str:
    """One a day per village, person and problem: the job_runs mark that keeps a re-check from telling again."""
    return f"{result.village.name}·{finding.userid}·{finding.problem}"


async def check_villages(ctx: JobContext, villages: Iterable[Village], trigger: str) -> list[Check]:
    """Read each group's members, store what was found, tell each finding once today. A group WeCom will not
    give is alerted to the admins (once a day) and the others still get checked."""
    client = ctx.wecom()
    if client is None:
        return []   # a command-line run: the serving instance checks
    results = []
    for village in villages:
        try:
            group = await groupchat_members(client, village.chat_id, need_name=True)
        except FETCH_FAILED as exc:
            log.warning("identity: members of %s not read: %s", village.name, type(exc).__name__)
            await ctx.commit(lambda db, out, v=village, e=exc: out.alert_admins(
                f"identity-fetch:{v.name}:{ctx.day}",
                f"读不到{v.name}客户群的成员（{e}），今天的亮明身份检查没有做。请确认自建应用在客户联系「可调用应用」里，"
                "群主在应用的可见范围内，chat_id 没有填错。"))
            continue
        result = check(village, group)
        await ctx.commit(lambda db, out, r=result: record(db, r, ctx.at, trigger))
        await ctx.once_many([(target(result, f), lambda db, out, f=f, r=result: tell(db, out, ctx, r, f))
                             for f in result.findings])
        results.append(result)
    return results


async def check_customer_villages(ctx: JobContext) -> None:
    await check_villages(ctx, [v for v in ctx.config.villages() if v.group == "customer"], "morning")


JOB = Job("identity", "亮明身份检查", lambda config: config.schedule.identity, check_customer_villages)


async def group_changed(bot: Any, change: GroupChange) -> None:
    """WeCom's change_external_chat for a group (the running Bot, the parsed event): a member came or went, or the
    owner changed, so the group is read again at once (the event is a hint; groupchat/get is the truth).
    A dissolved village group is news for the admins and the town's inspectors. WeCom says some data settles
    after the event (about 2 s): a caller that answers the callback first and calls this afterwards reads it
    settled; the next morning's check catches anything it still missed."""
    village = bot.config.village_by_chat(change.chat_id)
    if village is None or village.group != "customer" or change.update_detail in COSMETIC:
        return
    ctx = bot.jobs.context(bot.jobs.find(JOB.name) or JOB, bot.clock.now())
    if change.change_type == "dismiss":
        await ctx.commit(lambda db, out: _dismissed(out, ctx, village))
        return
    await check_villages(ctx, [village], "change")


def _dismissed(out: Outgoing, ctx: JobContext, village: Village) -> None:
    gone = f"{village.name}的客户群已被群主解散，群众暂时没有地方反映诉求。"
    if out.alert_admins(f"identity-dismissed:{village.name}:{ctx.day}", gone + "村里重建群后，请更新配置里的 chat_id。"):
        out.members(inspectors(ctx.config.town(village.town)), f"【村群解散】{gone}请督促村里尽快重建。")
