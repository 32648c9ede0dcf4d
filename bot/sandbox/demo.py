"""`xiaowei demo`: a scripted morning in 城南村's group (requests, a report, a 公示 and an objection to it), run
through the real service — encrypted callbacks into a loopback server, SQLite on disk, the daily jobs, answers out
through the local WeCom stand-in — printed as residents, cadres and inspectors see it."""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Sequence, TextIO

import aiohttp
from aiohttp import web

from bot import data, roster
from bot.app import Bot
from bot.clock import ManualClock
from bot.dispatch import Handler
from bot.jobs import Job
from bot.config import Config
from bot.sandbox.config import sandbox_config
from bot.sandbox.standin import WeComStandIn, app_text
from bot.desk.session import link as desk_link
from bot.web import make_app, until_stopped

DAY = "2026-12-01"                      # a Tuesday
CHAT = "wrkSFfCgAAcnchengnan"          # 城南村 in config.example.toml
ROBOT = "robot-key-chengnan"
JOB_TITLES = {"duty_notice": "值班公告（各村群）", "digest": "巡群日报（镇纪委）", "news": "正能量推送（各村群）",
              "nags": "催办提醒"}
RESIDENTS = {"res-apo": "村民·邱阿婆", "res-chen": "村民·老陈", "res-lin": "村民·小林", "res-wu": "村民·吴叔"}


@dataclass(frozen=True)
class Step:
    at: str                # HH:MM on the demo day
    sender: str
    text: str
    private: bool = False  # written to the bot privately (AI bot single chat) instead of in the group
    job: str = ""          # a daily job runs at this time instead of a message


# Raised on earlier days: one is due today, one is two working days overdue by Tuesday morning.
EARLIER = [
    ("2026-11-25T10:20:00+08:00", "res-chen", "请问高龄津贴现在每个月发多少，80岁以上的要去哪里申请"),
    ("2026-11-26T16:05:00+08:00", "res-lin", "后山那排垃圾桶好几天没人清运了，臭得很，苍蝇到处飞"),
]

SCRIPT = [
    Step("08:00", "", "", job="duty_notice"),
    Step("08:00", "", "", job="digest"),
    Step("08:03", "res-chen", "大家早上好[玫瑰][玫瑰]"),
    Step("08:05", "res-lin", "帮助"),
    Step("08:12", "res-apo", "村口那盏路灯坏了一个多星期了，晚上黑乎乎的，老人走路怕摔，麻烦派人修一下"),
    Step("08:20", "res-lin", "请问今年城乡居民医保什么时候截止缴费？在哪里交"),
    Step("08:31", "cn-li", "认领 103"),
    Step("08:40", "res-wu", "村道边那条水沟堵死了，一下雨水就漫到路上，车都过不去"),
    Step("08:45", "cn-chen", "办结 104 明年的医保12月31日前交，可以用闽政通交，也可以到村部找我代缴"),
    Step("08:52", "res-wu", "村主任把今年的低保名额给了他自己的亲戚，他们家有车有楼房，我们真困难的评不上", private=True),
    Step("09:00", "", "", job="news"),
    Step("09:05", "cn-zhang", "上报 105 要用挖机清淤，村里没有设备，请镇里协调"),
    Step("09:20", "cn-chen", "公示 财务收支 2026年11月财务收支\n收入：上级转移支付 5.0万元，山林承包租金 1.2万元；"
                             "支出：村道修补 3.2万元，路灯更换 0.8万元，保洁 0.6万元；结余 1.6万元。"),
    Step("09:30", "", "", job="nags"),
    Step("09:35", "res-chen", "公示1里村道修补3.2万元是修的哪一段？能不能把明细贴出来"),
    Step("09:40", "res-apo", "我那个路灯的事怎么样了"),
    Step("10:10", "cn-li", "办结 103 电工已经换好灯泡，今晚就亮"),
    Step("10:20", "res-apo", "满意 103"),
]


class Transcript:
    """Prints what changed at the stand-in since the last look: group posts and private messages."""

    def __init__(self, standin: WeComStandIn, bot: Bot, out: TextIO):
        self.standin, self.bot, self.out = standin, bot, out
        self._seen = 0
        self._counts = {"response": 0, "message": 0}
        self._robot_counts: dict[str, int] = {}

    def name(self, userid: str) -> str:
        person = self.bot.roles.person(userid)
        return f"{person.name}（{person.post}）" if person else RESIDENTS.get(userid, userid)

    def said(self, at: str, step: Step) -> None:
        where = "私聊小微" if step.private else ""
        self.out.write(f"{at} {self.name(step.sender)}{where}：{step.text}\n")

    def skip(self) -> None:
        """Forget what happened so far (earlier days are told in one line, not replayed)."""
        self._seen = len(self.standin.requests)
        self._counts = {"response": len(self.standin.response_posts), "message": len(self.standin.app_messages)}
        self._robot_counts = {k: len(v) for k, v in self.standin.robot_messages.items()}

    def job(self, at: str, title: str) -> None:
        self.out.write(f"{at} ⏰ 定时任务：{title}\n")

    def flush(self, at: str) -> None:
        """Walk the stand-in's log of accepted requests since the last look, in the order WeCom got them."""
        records = [r for r in self.standin.requests[self._seen:] if r.errcode == 0]
        self._seen = len(self.standin.requests)
        queues = {"webhook": {}, "response": list(self.standin.response_posts.values())[self._counts["response"]:],
                  "message": self.standin.app_messages[self._counts["message"]:]}
        for key, msgs in self.standin.robot_messages.items():
            queues["webhook"][key] = msgs[self._robot_counts.get(key, 0):]
            self._robot_counts[key] = len(msgs)
        self._counts = {"response": len(self.standin.response_posts), "message": len(self.standin.app_messages)}
        other_groups, private = set(), []
        for record in records:
            if record.endpoint == "webhook" and record.target != ROBOT:
                other_groups.add(record.target)
                queues["webhook"][record.target].pop(0)
            elif record.endpoint == "webhook":
                self._robot(at, queues["webhook"][ROBOT].pop(0))
            elif record.endpoint == "response":
                self._bot(at, queues["response"].pop(0)["markdown"]["content"])
            elif record.endpoint == "message":
                private.append(queues["message"].pop(0))
        self._private(private)
        if other_groups:
            self.out.write(f"        （另有 {len(other_groups)} 个村（社区）群同时收到各自的推送）\n")

    def _private(self, messages: list[dict]) -> None:
        # The same text to several people (both inspectors, say) is shown once with every recipient.
        grouped: dict[str, list[str]] = {}
        for msg in messages:
            grouped.setdefault(app_text(msg), []).append(self.name(msg["touser"]))
        for text, names in grouped.items():
            self._indent(f"（私信 → {'、'.join(names)}）", text)

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


async def serve_demo(config: Config, handlers, jobs, clock: ManualClock) -> tuple[Bot, web.AppRunner, str]:
    """A demo's bot behind a real server on a free loopback port, the example roster imported: the bot, the
    runner to clean up, and the base address."""
    bot = Bot(config, handlers=handlers, jobs=jobs, clock=clock, schedule=False)
    runner = web.AppRunner(make_app(bot), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    parsed, errors = roster.parse(bot.config, data("roster.example.csv").read_text(encoding="utf-8"))
    assert not errors, errors
    await bot.store.write(roster.save, parsed)
    return bot, runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def run_demo(out: TextIO, *, handlers: Sequence[Handler], jobs: Sequence[Job], keep: str | None = None,
                   serve: bool = False) -> int:
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="xiaowei-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    clock = ManualClock(EARLIER[0][0])
    try:
        async with WeComStandIn(clock) as standin:
            # The demo drives the daily jobs itself, on its simulated clock.
            config = sandbox_config(standin, workdir / "xiaowei.db")
            # The demo county went live in November: months before that are not owed (else every village's
            # earlier accounts would count as late in the digest).
            config = replace(config, power_list=replace(config.power_list, start=date(2026, 11, 1)))
            bot, runner, base = await serve_demo(config, handlers, jobs, clock)
            transcript = Transcript(standin, bot, out)
            async with aiohttp.ClientSession() as http:
                async def send(step: Step) -> bool:
                    payload = standin.aibot_message(chatid=None if step.private else CHAT, userid=step.sender,
                                                    text=step.text, chattype="single" if step.private else "group")
                    params, body = standin.seal_aibot(payload)
                    async with http.post(f"{base}/wecom/aibot", params=params, data=body) as resp:
                        await bot.settle()
                        return resp.status == 200

                for when, sender, text in EARLIER:   # earlier days, told in one line each
                    clock.set(when)
                    await send(Step("", sender, text))
                transcript.skip()
                out.write("小微演示：翠江镇城南村群，2026年12月1日（周二）上午\n")
                out.write(f"（本地服务 {base}，数据库 {workdir / 'xiaowei.db'}，企业微信由本地模拟；"
                          f"值班表已从 data/roster.example.csv 导入）\n")
                out.write("此前：11月25日老陈咨询高龄津贴（编号 101，期限已过），11月26日小林反映垃圾没人清运"
                          "（编号 102，今天到期），都还没有办结。\n\n")
                for step in SCRIPT:
                    clock.set(f"{DAY}T{step.at}:00+08:00")
                    if step.job:
                        transcript.job(step.at, JOB_TITLES[step.job])
                        await bot.jobs.run(step.job)
                        await bot.settle()
                    else:
                        transcript.said(step.at, step)
                        if not await send(step):
                            out.write("!! 回调失败\n")
                            return 1
                    transcript.flush(step.at)
            out.write("\n（演示结束：以上群消息和私信均经加密回调、SQLite 落库、发件箱和本地模拟的企业微信接口真实发出。）\n")
            out.write(f"工作台：{base}/desk\n"
                      f"镇纪委胡纪的登录链接：{desk_link(bot.config, 'zjw-hu', clock.now(), base_url=base)}\n")
            if serve:
                out.write("（服务继续运行，可用浏览器打开上面的链接；按 Ctrl-C 结束。）\n")
                out.flush()
                await until_stopped()
            else:
                out.write("（加 --serve 可在演示后继续运行，用浏览器打开工作台。）\n")
            await runner.cleanup()
        return 0
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
