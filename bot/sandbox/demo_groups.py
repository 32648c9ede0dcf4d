"""`xiaowei demo --group customer | bridge`: a morning in 城南村's group when it is a customer group (客户群, heard
through the chat archive, spoken to by the owner's confirmed group send and by drafts the duty cadre pastes) or a
plain WeChat group behind the county's gateway; in the customer group's morning, residents also write to 小微
privately through 微信客服 (the village's link in the duty notice). Run through the real service — SQLite on disk,
the real handlers, jobs and outbox, the local WeCom stand-in and a stand-in gateway — and printed as the people
involved see it."""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Sequence, TextIO

import aiohttp

from bot import drafts
from bot.app import Bot
from bot.channels.archive import ArchiveReader
from bot.clock import ManualClock, local
from bot.config import Config
from bot.dispatch import Handler
from bot.jobs import Job
from bot.sandbox.archive_standin import ArchiveStandIn
from bot.sandbox.config import sandbox_config
from bot.sandbox.demo import serve_demo
from bot.sandbox.gateway import GatewayStandIn
from bot.sandbox.standin import WeComStandIn, app_text

DAY = "2026-12-01"                      # a Tuesday; 陈芳 is on duty in 城南村 (data/roster.example.csv)
VILLAGE = "城南村"
GATEWAY_SECRET = "demo-gateway-secret"  # the sandbox's own: never a real one
KF_ACCOUNT = "wkXiaoweiDemo"            # the county's 微信客服 account, in the stand-in only
RESIDENTS = {"wmApo": "村民·邱阿婆", "wmLin": "村民·小林", "wmWu": "村民·吴叔", "wmZhou": "村民·周婶"}
LAMP = "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人修一下"
REPORT = "村主任把今年的低保名额给了他自己的亲戚，他们家有车有楼房，请纪委来查一查"
SUBSIDY = "请问今年的高龄补贴什么时候发？第一次领要带什么材料"
JOB_TITLES = {"duty_notice": "值班公告", "news": "正能量推送", "group_send": "客户群群发（交群主确认）",
              "group_send_check": "群发确认检查", "draft_nags": "草稿未发提醒"}


@dataclass(frozen=True)
class Step:
    at: str                 # HH:MM on the demo day
    sender: str = ""
    text: str = ""
    how: str = "group"      # group (said in the group) | app (a cadre writes to the app privately) | paste
    #                         | kf (a resident writes privately through 微信客服, entering by the village's link)
    job: str = ""           # a daily job runs at this time instead
    confirm: bool = False   # the owner taps 发送 on today's group send
    note: str = ""          # a line of explanation for the reader
    secret: str = ""        # words of a report: the demo checks they reached the town's inspectors and no one else


CUSTOMER = [
    Step("08:00", job="duty_notice", note="客户群里机器人发不了消息：值班公告先存着，等今天的群发。"),
    Step("08:12", "wmApo", LAMP),
    Step("08:20", "cn-chen", how="paste", note="陈芳把小微拟好的答复复制到群里（小微从会话存档里看到）。"),
    Step("09:00", job="news"),
    Step("09:10", job="group_send"),
    Step("09:25", confirm=True),
    Step("09:40", "wmLin", "请问今年城乡居民医保什么时候截止缴费？在哪里交"),
    Step("10:10", "cn-li", "办结 101 电工已经换好灯泡，今晚就亮", how="app"),
    Step("10:30", job="group_send_check"),
    # 微信客服: residents write to 小微 privately from personal WeChat, through 城南村's link in the duty notice.
    Step("11:05", "wmWu", REPORT, how="kf", secret="低保名额",
         note="吴叔点开值班公告里的「私信小微」链接（链接带着城南村），私下反映村干部的问题。"),
    Step("11:20", "wmZhou", SUBSIDY, how="kf", note="周婶也从这个链接私信小微，问补贴的事：私事私答，不进群。"),
    Step("11:50", "cn-chen", "办结 103 高龄补贴每季度末发到社保卡；第一次领带身份证、户口本到村委会登记就行",
         how="app"),
    Step("14:40", job="draft_nags", note="医保的受理答复和路灯的办结答复交给陈芳四个工作小时了，还没发到群里。"),
    Step("14:45", "cn-chen", how="paste", note="陈芳把两条答复发到群里，改了几个字。"),
]

BRIDGE = [
    Step("08:00", job="duty_notice"),
    Step("08:12", "wmApo", LAMP),
    Step("08:20", "cn-chen", "收到，我马上联系电工，今天下午去看", note="陈芳在群里直接回复（网关转来所有群消息）。"),
    Step("09:00", job="news"),
    Step("10:10", "cn-chen", "办结 101 电工已经换好灯泡，今晚就亮"),
    Step("10:20", "wmApo", "满意 101"),
]


class GroupTranscript:
    """Prints what changed since the last look: the group (as its members see it) and private messages."""

    def __init__(self, bot: Bot, standin: WeComStandIn, out: TextIO, gateway: GatewayStandIn | None):
        self.bot, self.standin, self.out, self.gateway = bot, standin, out, gateway
        self.village = bot.config.village_by_name(VILLAGE)
        self._private = self._group = self._gateway = 0
        self._kf: dict[str, int] = {}
        self._posted: set[int] = set()

    def name(self, userid: str) -> str:
        person = self.bot.roles.person(userid)
        return f"{person.name}（{person.post}）" if person else RESIDENTS.get(userid, userid)

    def line(self, head: str, text: str) -> None:
        lines = text.splitlines() or [""]
        self.out.write(f"{head}{lines[0]}\n")
        for rest in lines[1:]:
            self.out.write(" " * 8 + rest + "\n")

    def skip(self) -> None:
        self._private = len(self.standin.app_messages)

    def flush(self, at: str) -> None:
        if self.gateway is not None:
            for post in self.gateway.posts[self._gateway:]:
                if post["chat_id"] == self.village.chat_id:
                    mentions = "".join(f" @{self.name(u).split('（')[0]}" for u in post.get("mentions", []))
                    self.line(f"{at} 小微（经网关发到群里）：", post["text"] + mentions)
            self._gateway = len(self.gateway.posts)
        received = self.standin.customer_group_messages.get(self.village.chat_id, [])
        for msg in received[self._group:]:
            self.line(f"{at} {self.name(msg['sender'])}（群发，小微拟稿）：", msg["text"])
        self._group = len(received)
        for user, replies in self.standin.kf_sent.items():
            for msg in replies[self._kf.get(user, 0):]:
                self.line(f"        （微信客服 → {self.name(user)}）", msg["text"]["content"])
            self._kf[user] = len(replies)
        # Each member is a lane of its own in the outbox, so they arrive in any order: print them as the bot
        # queued them (the outbox's order), so that one run reads like the next.
        queued = self._queued()
        arrived = [(_private_text(m), u) for m in self.standin.app_messages[self._private:]
                   for u in m["touser"].split("|")]
        grouped: dict[str, list[str]] = {}
        for text, userid in sorted(arrived, key=lambda tu: queued.get(tu, 1 << 62)):
            grouped.setdefault(text, []).append(self.name(userid))
        self._private = len(self.standin.app_messages)
        for text, names in grouped.items():
            self.line(f"        （私信 → {'、'.join(dict.fromkeys(names))}）", text)

    def _queued(self) -> dict[tuple[str, str], int]:
        """(text, member) → the outbox id of the first app message that said it to them."""
        found = self.bot.store.read_sync(lambda db: list(db.query(
            "SELECT id, target, payload FROM outbox WHERE kind = 'app' ORDER BY id DESC")))
        return {(_private_text(json.loads(r["payload"])), r["target"]): r["id"] for r in found}

    def loop_closed(self, at: str) -> None:
        """What the chat archive showed: the drafts now marked posted, with the first response they gave."""
        found = self.bot.store.read_sync(lambda db: list(db.query(
            "SELECT p.id, p.purpose, p.posted_by, p.posted_at, c.number, s.first_response_at FROM group_posts p "
            "JOIN cases c ON c.id = p.case_id JOIN case_state s ON s.case_id = c.id "
            "WHERE p.kind = 'draft' AND p.status = 'posted' ORDER BY p.id")))
        for row in found:
            if row["id"] in self._posted:
                continue
            self._posted.add(row["id"])
            # The first response is this post's only when the case had none before it.
            first = row["first_response_at"] == row["posted_at"]
            answer = drafts.PURPOSE_NAMES.get(row["purpose"], "答复")
            self.line(f"        （小微核对会话存档：{self.name(row['posted_by']).split('（')[0]}已把编号 {row['number']} 的"
                      f"{answer}发到群里", f"，记为首次回应 {local(row['posted_at']):%H:%M}）" if first else "）")


def _private_text(msg: dict) -> str:
    """An app message as the member reads it; a case card on one line (its title, where, buttons)."""
    if msg.get("msgtype") != "template_card":
        return app_text(msg)
    card = msg["template_card"]
    buttons = " ".join(f"[{b['text']}]" for b in card.get("button_list", []))
    return f"卡片：{card['main_title']['title']}｜{card['main_title'].get('desc', '')} {buttons}"


def _as_kind(config: Config, kind: str) -> Config:
    town = config.towns[0]
    villages = tuple(replace(v, group=kind, webhook_key="") if v.name == VILLAGE else v for v in town.villages)
    return replace(config, towns=(replace(town, villages=villages), *config.towns[1:]))


async def run_group_demo(out: TextIO, group: str, *, handlers: Sequence[Handler], jobs: Sequence[Job],
                         keep: str | None = None, script: Sequence[Step] | None = None) -> int:
    """Play the group kind's morning (or `script`, e.g. one that checks the checks); 0 when every step played."""
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=f"xiaowei-demo-{group}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clock = ManualClock(f"{DAY}T07:30:00+08:00")
    # The reader's "N new group messages" log line would land between the transcript's lines.
    quiet = logging.getLogger("xiaowei.archive")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        async with WeComStandIn(clock) as standin, GatewayStandIn(GATEWAY_SECRET) as gateway:
            config = _as_kind(sandbox_config(standin, workdir / "xiaowei.db", bridge_secret=GATEWAY_SECRET,
                                             kf_account=KF_ACCOUNT if group == "customer" else ""), group)
            if group == "bridge":
                config = replace(config, bridge=replace(config.bridge, push_url=gateway.url))
            village = config.village_by_name(VILLAGE)
            standin.add_customer_group(village.chat_id, name=f"{VILLAGE}群", owner=village.group_owner)
            bot, runner, base = await serve_demo(config, handlers, jobs, clock)
            archive = ArchiveStandIn()
            reader = ArchiveReader(config, clock, bot.commit, bot.store.read, bot.dispatcher.submit,
                                   open_sdk=lambda: archive)
            transcript = GroupTranscript(bot, standin, out, gateway if group == "bridge" else None)
            owner = transcript.name(village.group_owner).split("（")[0]
            _intro(out, group, base, workdir, owner)
            played = True
            async with aiohttp.ClientSession() as http:
                morning = _Morning(group, bot, standin, gateway, archive, reader, transcript, http, base, clock, owner)
                for step in script or (CUSTOMER if group == "customer" else BRIDGE):
                    failed = await morning.play(step)
                    if failed:
                        out.write(f"!! {failed}\n")
                        played = False
                        break
            await runner.cleanup()
            if not played:
                return 1
            out.write(_outro(group))
        return 0
    finally:
        quiet.setLevel(level)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class _Morning:
    """Plays the script's steps against the running service, one at a time, and prints what each one led to."""
    group: str
    bot: Bot
    standin: WeComStandIn
    gateway: GatewayStandIn
    archive: ArchiveStandIn
    reader: ArchiveReader
    transcript: GroupTranscript
    http: aiohttp.ClientSession
    base: str
    clock: ManualClock
    owner: str

    async def play(self, step: Step) -> str | None:
        """Play one step; returns what went wrong (the demo then stops), or None."""
        self.clock.set(f"{DAY}T{step.at}:00+08:00")
        out = self.transcript.out
        if step.note:
            out.write(f"{step.at} 💡 {step.note}\n")
        if step.job:
            out.write(f"{step.at} ⏰ 定时任务：{JOB_TITLES[step.job]}\n")
            await self.bot.jobs.run(step.job)
        elif step.confirm:
            self.confirm(step.at)
        elif step.how == "app":
            out.write(f"{step.at} {self.transcript.name(step.sender)}私聊小微：{step.text}\n")
            params, body = self.standin.seal_app(userid=step.sender, text=step.text)
            if not await self.app_callback(params, body):
                return "回调失败"
        elif step.how == "kf":
            out.write(f"{step.at} {self.transcript.name(step.sender)}私信小微（微信客服）：{step.text}\n")
            # WeCom's notice only signals: the bot pulls the enter_session event and the text with sync_msg.
            sealed = self.standin.kf_customer_message(KF_ACCOUNT, step.sender, step.text,
                                                      scene=self.bot.config.kf.scene, scene_param=VILLAGE)
            if not await self.app_callback(*sealed):
                return "回调失败"
        elif not await self.said(step):
            return "回调失败"
        await self.bot.settle()
        await self.bot.settle()       # a gateway push queued by the first round goes out in the second
        self.transcript.flush(step.at)
        self.transcript.loop_closed(step.at)
        return self.kept_to_inspectors(step) if step.secret else None

    async def app_callback(self, params: dict[str, str], body: bytes) -> bool:
        async with self.http.post(f"{self.base}/wecom/app", params=params, data=body) as resp:
            return resp.status == 200

    def kept_to_inspectors(self, step: Step) -> str | None:
        """A report went to the town's inspectors and nowhere else: checked on everything the stand-in accepted
        (groups, robots, app messages, 微信客服, cards), by its words, its clue number and the reporter's id."""
        village = self.transcript.village
        inspectors = {p.userid for p in self.bot.config.town(village.town).inspectors}
        clues = self.bot.store.read_sync(lambda db: [r["number"] for r in db.query(
            "SELECT number FROM cases WHERE kind = 'report' AND requester = ?", [step.sender])])
        if not clues:
            return "这条反映没有登记为问题线索"
        marks = [step.secret, *clues, step.sender]
        reached, leaked = set(), set()
        for to, text in self.standin.delivered():
            channel, _, who = to.partition(":")
            people = set(who.split("|"))
            if channel == "app" and people <= inspectors:
                reached |= people if step.secret in text else set()
            elif not (channel == "kf" and who == step.sender) and any(m in text for m in marks):
                leaked.add(to)
        if leaked:
            return f"举报的内容或线索编号发给了镇纪委以外的人：{'、'.join(sorted(leaked))}"
        if reached != inspectors:
            return "举报没有送到镇纪委每个人"
        names = "、".join(self.transcript.name(u).split("（")[0] for u in sorted(inspectors))
        self.transcript.out.write(f"        （小微核对模拟企业微信发出的每条消息：这条反映只发给了镇纪委{names}，"
                                  "群里和村干部都没有收到，也没有透露是谁反映的。）\n")
        return None

    def confirm(self, at: str) -> None:
        """The owner's one tap on today's group send, in the WeCom client."""
        [send] = self.bot.store.read_sync(lambda db: list(db.query(
            "SELECT msgid FROM group_sends WHERE village = ?", [VILLAGE])))
        self.transcript.out.write(f"{at} 👆 群主{self.owner}在企业微信「群发助手」里点了「发送」\n")
        self.standin.confirm_group_send(send["msgid"], self.transcript.village.group_owner)

    async def said(self, step: Step) -> bool:
        """Someone speaks in the group: heard through the chat archive, or fed by the gateway."""
        village = self.transcript.village
        for text in [step.text] if step.how == "group" else _drafts_for(self.bot, step.sender):
            self.transcript.line(f"{step.at} {self.transcript.name(step.sender)}：", text)
            if self.group == "customer":
                self.archive.say(roomid=village.roomid or village.chat_id, sender=step.sender, text=text,
                                 at=self.clock.now())
            elif not await _via_gateway(self.http, self.base, self.gateway, village.chat_id, step.sender, text,
                                        self.clock.now()):
                return False
        if self.group == "customer":
            await self.reader.pull_once()       # the reader's regular pull (here: at once)
        return True


def _drafts_for(bot: Bot, cadre: str) -> list[str]:
    """What the cadre pastes: each draft handed to them and not yet posted, lightly edited as people do."""
    rows = bot.store.read_sync(lambda db: list(db.query(
        "SELECT text FROM group_posts WHERE kind = 'draft' AND status = 'waiting' AND handed_to LIKE ? ORDER BY id",
        [f'%"{cadre}"%'])))
    return [r["text"].replace("已登记，", "已经登记了，").replace("满意请回复", "满意的话请回复") for r in rows]


async def _via_gateway(http: aiohttp.ClientSession, base: str, gateway: GatewayStandIn, chat_id: str, userid: str,
                       text: str, at: datetime) -> bool:
    headers, body = gateway.say(chat_id=chat_id, userid=userid, text=text, at=at)
    async with http.post(f"{base}/bridge", data=body, headers=headers) as resp:
        return resp.status == 200


def _intro(out: TextIO, group: str, base: str, workdir: Path, owner: str) -> None:
    if group == "customer":
        out.write("小微演示：翠江镇城南村群是企业微信客户群（群众用个人微信），2026年12月1日（周二）\n")
        out.write(f"（本地服务 {base}，数据库 {workdir / 'xiaowei.db'}；企业微信由本地模拟。）\n")
        out.write("客户群里进不了机器人，所以：小微通过「会话内容存档」读到群里每条消息；每天的公告由群主"
                  f"{owner}确认一次群发；给群众的答复私信交值班干部，干部复制发到群里，小微再从存档里核对。"
                  "群众也可以点值班公告里的「私信小微」链接私下找小微（微信客服）：私事私答，反映干部只交镇纪委。\n")
        out.write("（会话存档：本演示用 Python 模拟 SDK 解密之后的消息记录，不需要 C 编译器；正式部署由企业下载的"
                  "会话存档 SDK 拉取并解密。之后的入库、识别、登记、答复和核对都是正式代码。）\n\n")
    else:
        out.write("小微演示：翠江镇城南村群是普通微信群，经县里的网关接入，2026年12月1日（周二）\n")
        out.write(f"（本地服务 {base}，数据库 {workdir / 'xiaowei.db'}；网关和企业微信由本地模拟。）\n")
        out.write("网关把群里每条消息签名后发给小微（POST /bridge），小微要说的话按顺序推给网关，由网关发到群里。\n\n")


def _outro(group: str) -> str:
    if group == "customer":
        return ("\n（演示结束：群消息经会话存档读入，群发经 add_msg_template 交群主确认，答复草稿经自建应用私信发给"
                "值班干部，私信经微信客服 sync_msg 读入、send_msg 答复，都落库并经发件箱真实发出。）\n")
    return "\n（演示结束：群消息经签名的 /bridge 接口进入，群里的话经发件箱按编号依次推送给网关。）\n"
