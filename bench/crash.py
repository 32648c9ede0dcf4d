"""Kill -9 benchmark: residents keep writing while the real server (`python -m bot serve`) is killed with
SIGKILL and restarted, round after round. At the end the database and the WeCom stand-in's record are compared:
no acknowledged message may be lost and no message may open two cases; sends repeated across a crash (robot
and app sends are at-least-once between WeCom's accept and our mark) are counted.

    .venv/bin/python bench/crash.py --rounds 6 --messages 400

Everything runs on 127.0.0.1 in a temporary directory. The stand-in is its own process
(bot/sandbox/serve_standin.py) so that it outlives the bot; response_urls are minted in that process through
its control port, because a response code is only valid in the stand-in that issued it. Prints aggregates
only, never message texts."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.sandbox.config import example_with, standin_settings  # noqa: E402
from bot.sandbox.standin import WeComStandIn  # noqa: E402

REQUESTS = ("村口路灯坏了，晚上出门太黑", "自来水停了两天了，什么时候能来水", "我家低保怎么申请，要准备什么材料",
            "村道上有个大坑，电动车摔了好几次", "垃圾好几天没人清运了，味道很大", "医保在哪里交，今年交多少钱",
            "水渠堵了，田里进不了水", "建议在村部门口装几件健身器材", "村里去年的账目什么时候公开",
            "老人高龄补贴怎么领取", "桥边的护栏断了，小孩上学不安全", "家门口的下水道堵了，污水漫到路上")
START_TIMEOUT = 60.0      # seconds for a (re)started server to answer /healthz
SEND_DEADLINE = 90.0      # seconds one callback keeps being retried, as WeCom retries an unanswered one
STANDIN_TIMEOUT = 20.0


# --- set-up ------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def far_times(hours: int = 12) -> str:
    """An HH:MM half a day away, so no daily job is due (or within its catch-up window) during the run."""
    return (SystemClock().now() + timedelta(hours=hours)).strftime("%H:%M")


def write_config(path: Path, standin: WeComStandIn, api_base: str, port: int, villages: int) -> None:
    """The shipped example, its secrets and endpoints pointed at the stand-in, plus generated villages so that
    the group robots' 20-a-minute limit does not make the final drain take many minutes."""
    settings = standin_settings(standin, port=port, database=path.parent / "xiaowei.db") | {
        ("wecom", "api_base"): json.dumps(api_base),
        **{("schedule", job): json.dumps(far_times()) for job in ("duty_notice", "news", "nags", "digest")},
    }
    try:
        out = example_with(settings).splitlines()
    except ValueError as exc:
        raise SystemExit(f"{exc}; update bench/crash.py") from None
    existing = sum(1 for line in out if line.strip() == "[[towns.villages]]")
    for i in range(existing + 1, villages + 1):
        out += ["", "[[towns.villages]]", f'name = "压测{i:02d}村"', f'chat_id = "wrkbench{i:02d}"',
                f'webhook_key = "robot-key-bench{i:02d}"', "cadres = [",
                f'  {{ userid = "b{i:02d}-sec", name = "书记{i:02d}", post = "党支部书记", '
                f'phone = "139000{i:05d}", secretary = true }},',
                f'  {{ userid = "b{i:02d}-dir", name = "主任{i:02d}", post = "村委会主任", phone = "138000{i:05d}" }},',
                "]"]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


class StandInProcess:
    def __init__(self, log: Path):
        self.log, self.proc, self.url, self.control = log, None, "", ""

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.sandbox.serve_standin", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=self.log.open("ab"))
        line = await asyncio.wait_for(self.proc.stdout.readline(), STANDIN_TIMEOUT)
        if not line:
            raise SystemExit(f"the stand-in did not start; see {self.log}")
        info = json.loads(line)
        self.url, self.control = info["url"], info["control"]

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class Server:
    """`python -m bot serve` as a child process that can be killed -9 and started again."""

    def __init__(self, config: Path, port: int, log: Path):
        self.config, self.base, self.log = config, f"http://127.0.0.1:{port}", log
        self.proc: asyncio.subprocess.Process | None = None
        self.starts: list[float] = []     # seconds from spawn to the first healthy /healthz

    async def start(self, session: aiohttp.ClientSession) -> None:
        t = time.monotonic()
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "serve", "--config", str(self.config), cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=self.log.open("ab"))
        while time.monotonic() - t < START_TIMEOUT:
            if self.proc.returncode is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}; see {self.log}")
            if await self.health(session) is not None:
                self.starts.append(time.monotonic() - t)
                return
            await asyncio.sleep(0.05)
        raise SystemExit(f"the server did not answer /healthz within {START_TIMEOUT:.0f} s; see {self.log}")

    async def health(self, session: aiohttp.ClientSession) -> dict | None:
        try:
            async with session.get(f"{self.base}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as resp:
                return await resp.json() if resp.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None

    async def kill9(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        """A clean stop (SIGTERM) at the end, so that the last reading of the database is a settled one."""
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except asyncio.TimeoutError:
                await self.kill9()


# --- the load ----------------------------------------------------------------------------------------------

@dataclass
class Sent:
    msgid: str
    kind: str
    body: dict                     # plaintext callback, kept so that a retry is the same message
    attempts: int = 0
    failures: Counter = field(default_factory=Counter)
    acked: bool = False
    acked_try: float = 0.0         # wall time at which the first attempt answered 200 was sent
    redelivered: bool = False


class Load:
    def __init__(self, args, sealer: WeComStandIn, villages: list, urls: list[str], db: Path,
                 session: aiohttp.ClientSession, server: Server, rng: random.Random):
        self.args, self.sealer, self.villages, self.urls = args, sealer, villages, urls
        self.db, self.session, self.server, self.rng = db, session, server, rng
        self.sent: list[Sent] = []
        self.sem = asyncio.Semaphore(args.concurrency)
        self.n = 0
        self._cases: list[tuple[str, str, str]] = []   # (number, village, requester)
        self._cases_at = 0.0

    def known_cases(self) -> list[tuple[str, str, str]]:
        # The load reads the live database (read-only, WAL) to find case numbers for cadres' commands.
        if time.monotonic() - self._cases_at > 1.0 and self.db.exists():
            try:
                with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=1) as con:
                    self._cases = con.execute("SELECT number, village, requester FROM cases WHERE kind != 'report' "
                                              "ORDER BY id DESC LIMIT 200").fetchall()
            except sqlite3.Error:
                pass
            self._cases_at = time.monotonic()
        return self._cases

    def next_message(self) -> Sent:
        self.n += 1
        n, rng = self.n, self.rng
        kind = rng.choices(("request", "help", "query", "claim", "progress"), (70, 10, 8, 7, 5))[0]
        cases = self.known_cases() if kind in ("query", "claim", "progress") else []
        by_name = {v.name: v for v in self.villages}
        case = rng.choice(cases) if cases else None
        if case is None or case[1] not in by_name:
            kind = "request" if kind != "help" else kind
        if kind in ("request", "help"):
            village, user = rng.choice(self.villages), f"res-{rng.randrange(1, 200):03d}"
            text = "帮助" if kind == "help" else f"{rng.choice(REQUESTS)}，在{n % 12 + 1}组"
        else:
            number, village_name, requester = case
            village = by_name[village_name]
            if kind == "query":
                user, text = requester, f"查询 {number}"
            else:
                user = village.secretary.userid
                text = f"认领 {number}" if kind == "claim" else f"进展 {number} 已联系师傅，这两天处理"
        body = self.sealer.aibot_message(chatid=village.chat_id, userid=user, text=text,
                                         msgid=f"bench{n:06d}{rng.getrandbits(32):08x}")
        body["response_url"] = self.urls[n - 1]     # minted in the stand-in process, so really usable once
        return Sent(body["msgid"], kind, body)

    async def post(self, s: Sent) -> None:
        """Deliver one callback like WeCom: retry until HTTP 200 (bounded), through kills and restarts."""
        deadline = time.monotonic() + SEND_DEADLINE
        while time.monotonic() < deadline:
            s.attempts += 1
            started = time.time()
            query, data = self.sealer.seal_aibot(s.body)   # fresh timestamp and nonce on every try
            try:
                async with self.session.post(f"{self.server.base}/wecom/aibot", params=query, data=data,
                                             timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    await resp.read()
                    if resp.status == 200:
                        if not s.acked:
                            s.acked, s.acked_try = True, started
                        return
                    s.failures[f"HTTP {resp.status}"] += 1
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                s.failures[type(exc).__name__] += 1
            await asyncio.sleep(0.1 + 0.1 * self.rng.random())

    async def one(self, s: Sent) -> None:
        async with self.sem:
            await self.post(s)
        if s.acked and self.rng.random() < self.args.redeliver:
            # WeCom redelivers a message now and then even after a 200; it must not open a second case.
            s.redelivered = True
            async with self.sem:
                await self.post(s)

    async def round(self, count: int) -> tuple[float, float]:
        """Send `count` messages paced at --rate; kill -9 the server at a uniform moment of the send window and
        start it again at once. Returns (kill moment, seconds the server was down)."""
        window = count / self.args.rate
        kill_at = self.rng.uniform(0, window)
        t0 = time.monotonic()

        async def killer() -> float:
            await asyncio.sleep(kill_at)
            down = time.monotonic()
            await self.server.kill9()
            await self.server.start(self.session)
            return time.monotonic() - down

        kill_task = asyncio.create_task(killer())
        tasks = []
        for i in range(count):
            await asyncio.sleep(max(0.0, t0 + i / self.args.rate - time.monotonic()))
            s = self.next_message()
            self.sent.append(s)
            tasks.append(asyncio.create_task(self.one(s)))
        await asyncio.gather(*tasks)
        return kill_at / window, await kill_task


# --- the reckoning -----------------------------------------------------------------------------------------

def delivered(records: dict) -> Counter:
    """What the stand-in accepted, as (kind, target, content) -> times."""
    seen: Counter = Counter()
    for key, bodies in records["robot_messages"].items():
        for b in bodies:
            seen["robot", key, said(b)] += 1
    for b in records["app_messages"]:
        for member in b["touser"].split("|"):
            seen["app", member, said(b)] += 1
    for code, b in records["response_posts"].items():
        seen["response", code, said(b)] += 1
    return seen


def said(body: dict) -> str:
    """A message's words; a template card (a duty alert with its buttons) has none: the card itself, as JSON."""
    part = body[body["msgtype"]]
    return part["content"] if "content" in part else json.dumps(part, ensure_ascii=False, sort_keys=True)


def outbox_key(row: sqlite3.Row) -> tuple[str, str, str]:
    payload = json.loads(row["payload"])
    target = row["target"]
    if row["kind"] == "response":
        target = parse_qs(urlsplit(target).query)["response_code"][0]
    content = said(payload)
    if row["kind"] == "app" and payload["msgtype"] == "text":
        content = content.encode()[:2048].decode("utf-8", "ignore")   # the stand-in truncates like WeCom
    return row["kind"], target, content


def duplicate_events(con: sqlite3.Connection) -> Counter:
    """History entries beyond one per message: each stored 认领/进展 command should append exactly one event
    (the load sends them from the village's secretary, who may act), and each case exactly one 'opened'."""
    sent: Counter = Counter()
    for (text,) in con.execute("SELECT text FROM messages WHERE handler = 'command'"):
        if m := re.search(r"(认领|进展)\s*(\d+)", text):
            sent["claimed" if m[1] == "认领" else "progress", m[2]] += 1
    extra: Counter = Counter()
    for action, number, n in con.execute(
            "SELECT e.action, c.number, COUNT(*) FROM events e JOIN cases c ON c.id = e.case_id "
            "WHERE e.action IN ('claimed', 'progress', 'opened') GROUP BY e.action, c.number"):
        expected = 1 if action == "opened" else sent[action, number]
        if n > expected:
            extra[action] += n - expected
    return extra


def reckon(db: Path, sent: list[Sent], records: dict) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    rows = {r["msgid"]: r for r in con.execute(
        "SELECT msgid, status, received_at FROM messages WHERE channel = 'aibot'")}
    acked = {s.msgid for s in sent if s.acked}
    stored = acked & rows.keys()
    handled = {m for m in stored if rows[m]["status"] in ("done", "failed")}
    dup_cases = con.execute("SELECT COUNT(*) FROM (SELECT m.msgid FROM cases c JOIN messages m ON m.id = c.message_id "
                            "GROUP BY m.channel, m.msgid HAVING COUNT(*) > 1)").fetchone()[0]
    dup_events = duplicate_events(con)
    outbox = con.execute("SELECT * FROM outbox").fetchall()
    status = Counter(r["status"] for r in outbox)
    rows_by_key = Counter(outbox_key(r) for r in outbox)
    got = delivered(records)
    dup_sends = Counter()
    for key, times in got.items():
        extra = times - rows_by_key.get(key, 0)
        if extra > 0:
            dup_sends[key[0]] += extra
    never = sum(1 for r in outbox if r["status"] == "sent" and got.get(outbox_key(r), 0) == 0)
    spent = sum(1 for r in outbox if r["status"] != "sent" and got.get(outbox_key(r), 0) > 0)
    refused = Counter((r["endpoint"], r["errcode"]) for r in records["requests"] if r["errcode"] not in (0, None))
    stuck = [(r["kind"], r["attempts"], (r["last_error"] or "")[:40]) for r in outbox if r["status"] == "pending"]
    result = {
        "callbacks": len(sent),
        "attempts": sum(s.attempts for s in sent),
        "failed_attempts": sum(sum(s.failures.values()) for s in sent),
        "redelivered": sum(s.redelivered for s in sent),
        "acked": len(acked),
        "not_acked": len(sent) - len(acked),
        "stored": len(stored),
        "stored_unacked": len(rows.keys() - acked),
        # Stored before the attempt that got the 200 was even sent: an earlier answer died with the server.
        "answer_lost": sum(1 for s in sent if s.acked and s.msgid in rows
                           and datetime.fromisoformat(rows[s.msgid]["received_at"]).timestamp() < s.acked_try),
        "causes": sum((s.failures for s in sent), Counter()),
        "handled": len(handled),
        "failed": sum(1 for m in stored if rows[m]["status"] == "failed"),
        "lost": len(acked - stored) + len(stored - handled),
        "cases": con.execute("SELECT COUNT(*) FROM cases").fetchone()[0],
        "dup_cases": dup_cases,
        "dup_events": dup_events,
        "outbox": status,
        "delivered": Counter(k[0] for k in got.elements()),
        "dup_sends": dup_sends,
        "never_delivered": never,
        "spent": spent,
        "refused": refused,
        "stuck": stuck,
        "handlers": Counter(r[0] for r in con.execute(
            "SELECT COALESCE(handler, '(none)') FROM messages WHERE channel = 'aibot'")),
        "kinds": Counter(s.kind for s in sent),
    }
    con.close()
    return result


def spread(values: list[float], form: str = "{:.2f}") -> str:
    v = sorted(values)
    return " / ".join(form.format(x) for x in (v[0], v[len(v) // 2], v[-1]))


def table(r: dict, rounds: list[tuple[float, float]], starts: list[float], drained: float | None,
          spent_only: bool) -> str:
    def fmt(c: Counter) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "0"
    lines = [
        ("callbacks sent (distinct msgid)", f"{r['callbacks']} ({fmt(r['kinds'])})"),
        ("  HTTP attempts / failed attempts", f"{r['attempts']} / {r['failed_attempts']}"),
        ("  failed attempts by cause", fmt(r["causes"])),
        ("  redelivered after a 200", r["redelivered"]),
        ("acknowledged (HTTP 200)", r["acked"]),
        ("  never acknowledged (gave up)", r["not_acked"]),
        ("stored (of acknowledged)", r["stored"]),
        ("  stored, never acknowledged", r["stored_unacked"]),
        ("  stored, but the 200 died with the server", r["answer_lost"]),
        ("handled (done or failed)", f"{r['handled']} (failed {r['failed']})"),
        ("handlers", fmt(r["handlers"])),
        ("LOST (acked, not stored or not handled)", r["lost"]),
        ("cases opened", r["cases"]),
        ("DUPLICATE CASES (one msgid, two cases)", r["dup_cases"]),
        ("duplicate events (one message, two entries)", fmt(r["dup_events"])),
        ("outbox rows", fmt(r["outbox"])),
        ("accepted by the stand-in", fmt(r["delivered"])),
        ("duplicate sends (accepted twice)", fmt(r["dup_sends"])),
        ("sent rows the stand-in never accepted", r["never_delivered"]),
        ("refused by the stand-in (endpoint, errcode)", fmt(r["refused"])),
        ("outbox still pending at the end", len(r["stuck"])),
        ("  of which WeCom already accepted", r["spent"]),
        ("kill moment, share of send window: min/med/max", spread([k for k, _ in rounds], "{:.2f}")),
        ("down per kill (s): min/median/max", spread([d for _, d in rounds])),
        ("server start to healthy (s): min/median/max", spread(starts)),
        ("unhandled messages recovered at restarts", r["recovered"]),
        ("drain after the last round (s)", "timed out" if drained is None else
         f"{drained:.1f}" + (" (stopped: only spent response_urls left)" if spent_only else "")),
    ]
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)


# --- main --------------------------------------------------------------------------------------------------

def only_spent(db: Path, records: dict) -> bool:
    """Every pending row is a response the stand-in already accepted before a crash: a response_url is usable
    once, so these can never succeed and waiting longer measures nothing (they are reported instead)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        con.row_factory = sqlite3.Row
        pending = con.execute("SELECT * FROM outbox WHERE status = 'pending'").fetchall()
    got = delivered(records)
    return bool(pending) and all(r["kind"] == "response" and got.get(outbox_key(r), 0) for r in pending)


async def drain(server: Server, session: aiohttp.ClientSession, control: str, db: Path,
                timeout: float) -> tuple[float | None, bool]:
    """(seconds until nothing is unhandled or pending, or None on timeout; whether it stopped at spent rows)."""
    t, checked = time.monotonic(), 0.0
    while time.monotonic() - t < timeout:
        h = await server.health(session)
        if h and h["unhandled_messages"] == 0 and h["outbox_pending"] == 0:
            return time.monotonic() - t, False
        if h and h["unhandled_messages"] == 0 and time.monotonic() - checked > 5:
            checked = time.monotonic()
            async with session.get(f"{control}/records") as resp:
                if only_spent(db, await resp.json()):
                    return time.monotonic() - t, True
        await asyncio.sleep(0.5)
    return None, False


async def run(args, work: Path) -> int:
    rng = random.Random(args.seed)
    standin = StandInProcess(work / "standin.log")
    server: Server | None = None
    try:
        await standin.start()
        sealer = WeComStandIn(SystemClock())    # same default keys as the stand-in process: it seals callbacks
        sealer.url = standin.url
        config = work / "config.toml"
        port = free_port()
        write_config(config, sealer, standin.url, port, args.villages)
        villages = list(load_config(config).villages())
        server = Server(config, port, work / "server.log")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency * 2)) as session:
            async with session.post(f"{standin.control}/response_urls", params={"n": str(args.messages)}) as resp:
                resp.raise_for_status()
                urls = await resp.json()
            await server.start(session)
            load = Load(args, sealer, villages, urls, work / "xiaowei.db", session, server, rng)
            per_round = [args.messages // args.rounds + (i < args.messages % args.rounds) for i in range(args.rounds)]
            kills = []
            for i, count in enumerate(per_round, 1):
                kills.append(await load.round(count))
                print(f"round {i}/{args.rounds}: {count} messages, killed at {kills[-1][0]:.0%} of the window, "
                      f"down {kills[-1][1]:.2f} s", file=sys.stderr)
            drained, spent_only = await drain(server, session, standin.control, work / "xiaowei.db",
                                              args.drain_timeout)
            async with session.get(f"{standin.control}/records") as resp:
                records = await resp.json()
            await server.stop()
        result = reckon(work / "xiaowei.db", load.sent, records)
        log = (work / "server.log").read_text(errors="replace")
        result["recovered"] = sum(int(n) for n in re.findall(r"recovered (\d+) stored messages", log))
        print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
        print(f"run: {args.rounds} rounds, {args.messages} messages, concurrency {args.concurrency}, "
              f"rate {args.rate}/s, {len(villages)} villages, seed {args.seed}")
        print(table(result, kills, server.starts, drained, spent_only))
        for kind, attempts, error in result["stuck"][:10]:
            print(f"  pending: {kind} after {attempts} attempts, last error {error!r}")
        print(f"tracebacks in the server log: {log.count('Traceback')}")
        return 0 if result["lost"] == 0 and result["dup_cases"] == 0 else 1
    finally:
        if server is not None:
            await server.kill9()
        await standin.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=6, help="kill -9 rounds (1..100)")
    ap.add_argument("--messages", type=int, default=400, help="callbacks in all (1..20000)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rate", type=float, default=40.0, help="callbacks a second (pacing of the send window)")
    ap.add_argument("--villages", type=int, default=20, help="villages in the config (the example has 4)")
    ap.add_argument("--redeliver", type=float, default=0.03, help="share of acknowledged callbacks sent again")
    ap.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for an empty outbox")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", type=Path, help="keep the database, config and logs in this directory")
    args = ap.parse_args(argv)
    if not (1 <= args.rounds <= 100 and 1 <= args.messages <= 20000 and args.rounds <= args.messages
            and 1 <= args.concurrency <= 256 and 0 < args.rate <= 1000 and 0 <= args.redeliver <= 1):
        ap.error("out of range")
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run(args, args.keep.resolve()))
    with tempfile.TemporaryDirectory(prefix="xiaowei-crash-") as tmp:
        return asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
