"""`xiaowei demo`: a scripted morning in 城南村's group, run through the real service — encrypted callbacks into
a loopback server, SQLite on disk, answers out through the local WeCom stand-in — printed as residents see it."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import aiohttp
from aiohttp import web

from bot.app import Bot
from bot.clock import FakeClock
from bot.sandbox import sandbox_config
from bot.server import make_app
from bot.standin import WeComStandIn

START = "2026-12-01T07:55:00+08:00"   # a Tuesday
CHAT = "wrkSFfCgAAcnchengnan"          # 城南村 in config.example.toml
RESIDENTS = {"res-apo": "村民·邱阿婆", "res-chen": "村民·老陈", "res-lin": "村民·小林", "res-wu": "村民·吴叔"}


@dataclass(frozen=True)
class Step:
    at: str                # HH:MM on the demo day
    sender: str
    text: str
    private: bool = False  # written to the bot privately (AI bot single chat) instead of in the group


SCRIPT = [
    Step("08:03", "res-chen", "大家早上好[玫瑰][玫瑰]"),
    Step("08:05", "res-lin", "帮助"),
    Step("08:12", "res-apo", "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人修一下"),
    Step("08:20", "res-lin", "请问今年城乡居民医保什么时候截止缴费？在哪里交"),
    Step("08:31", "cn-li", "认领 101"),
    Step("08:40", "res-wu", "村道边那条水沟堵死了，一下雨水就漫到路上，车都过不去"),
    Step("08:45", "cn-chen", "办结 102 明年的医保12月31日前交，可以用闽政通交，也可以到村部找我代缴"),
    Step("08:52", "res-wu", "村主任把今年的低保名额给了他自己的亲戚，他们家有车有楼房，我们真困难的评不上", private=True),
    Step("09:05", "cn-zhang", "上报 103 要用挖机清淤，村里没有设备，请镇里协调"),
    Step("09:30", "res-apo", "我那个路灯的事怎么样了"),
    Step("10:10", "cn-li", "办结 101 电工已经换好灯泡，今晚就亮"),
    Step("10:20", "res-apo", "满意 101"),
]


class Transcript:
    """Prints what changed at the stand-in since the last look: group posts and private messages."""

    def __init__(self, standin: WeComStandIn, bot: Bot, out: TextIO):
        self.standin, self.bot, self.out = standin, bot, out
        self._seen = 0

    def name(self, userid: str) -> str:
        person = self.bot.roles.person(userid)
        return f"{person.name}（{person.post}）" if person else RESIDENTS.get(userid, userid)

    def said(self, at: str, step: Step) -> None:
        where = "私聊小微" if step.private else ""
        self.out.write(f"{at} {self.name(step.sender)}{where}：{step.text}\n")

    def flush(self, at: str) -> None:
        records = [r for r in self.standin.requests[self._seen:] if r.errcode == 0]
        self._seen = len(self.standin.requests)
        robots, posts, apps = self._cursors()
        for record in records:
            if record.endpoint == "webhook":
                self._robot(at, robots.pop(0))
            elif record.endpoint == "response":
                self._bot(at, posts.pop(0)["markdown"]["content"])
            elif record.endpoint == "message":
                msg = apps.pop(0)
                self._indent(f"（私信 → {self.name(msg['touser'])}）", msg["text"]["content"])

    def _cursors(self) -> tuple[list, list, list]:
        # The stand-in keeps each kind in arrival order; walk them alongside its request log.
        if not hasattr(self, "_counts"):
            self._counts = {"robot": 0, "response": 0, "app": 0}
        robots = [m for msgs in self.standin.robot_messages.values() for m in msgs]
        posts = list(self.standin.response_posts.values())
        apps = self.standin.app_messages
        fresh = (robots[self._counts["robot"]:], posts[self._counts["response"]:], apps[self._counts["app"]:])
        self._counts = {"robot": len(robots), "response": len(posts), "app": len(apps)}
        return list(fresh[0]), list(fresh[1]), list(fresh[2])

    def _robot(self, at: str, payload: dict) -> None:
        body = payload.get("text") or payload.get("markdown") or {}
        mentions = [self.name(u).split("（")[0] for u in body.get("mentioned_list", [])]
        self._bot(at, body.get("content", "") + "".join(f" @{m}" for m in mentions))

    def _bot(self, at: str, text: str) -> None:
        self._indent(f"{at} 小微：", text)

    def _indent(self, head: str, text: str) -> None:
        lines = text.splitlines() or [""]
        self.out.write(f"{head}{lines[0]}\n")
        for line in lines[1:]:
            self.out.write(" " * 8 + line + "\n")


async def run_demo(out: TextIO, *, keep: str | None = None) -> int:
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="xiaowei-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clock = FakeClock(START)
    try:
        async with WeComStandIn(clock) as standin:
            bot = Bot(sandbox_config(standin, workdir / "xiaowei.db"), clock=clock)
            runner = web.AppRunner(make_app(bot), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            base = f"http://127.0.0.1:{runner.addresses[0][1]}"
            out.write(f"小微演示：{bot.config.town('翠江镇').name}城南村群，{clock.now():%Y年%m月%d日}（周二）上午\n")
            out.write(f"（本地服务 {base}，数据库 {workdir / 'xiaowei.db'}，企业微信由本地模拟）\n\n")
            transcript = Transcript(standin, bot, out)
            async with aiohttp.ClientSession() as http:
                for step in SCRIPT:
                    clock.set(f"{clock.now():%Y-%m-%d}T{step.at}:00+08:00")
                    transcript.said(step.at, step)
                    payload = standin.aibot_message(chatid=None if step.private else CHAT, userid=step.sender,
                                                    text=step.text, chattype="single" if step.private else "group")
                    params, body = standin.seal_aibot(payload)
                    async with http.post(f"{base}/wecom/aibot", params=params, data=body) as resp:
                        if resp.status != 200:
                            out.write(f"!! 回调失败：HTTP {resp.status}\n")
                            return 1
                    await bot.settle()
                    transcript.flush(step.at)
            await runner.cleanup()
            out.write("\n（演示结束：以上群消息和私信均经加密回调、SQLite 落库、发件箱和本地模拟的企业微信接口真实发出。）\n")
        return 0
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
