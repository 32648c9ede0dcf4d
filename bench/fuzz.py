"""Fuzz a real `xiaowei serve` (run by hand): 10,000 requests mixing valid callbacks, invalid and malicious ones
(every case of issue 10, point 5) and random bytes, against the server in a subprocess on a loopback port.

Prints the answers by status and by case; fails (exit 1) on any 5xx, a dead server, or a stored message that
was not accepted (or an accepted one that was not stored). The WeCom stand-in runs here, so the bot's answers
have somewhere to go, and its keys seal the callbacks. Usage: python bench/fuzz.py [--requests N] [--seed S]"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.channels.bridge import bridge_signature  # noqa: E402
from bot.clock import TZ, ManualClock  # noqa: E402
from bot.sandbox.config import example_config_path  # noqa: E402
from bot.sandbox.standin import WeComStandIn  # noqa: E402

SECRET = "bench-bridge-secret"
GROUPS = ["wrkSFfCgAAcnchengnan", "wrkSFfCgAAcnshuanghong", "wr-unknown-group"]
TEXTS = ["帮助", "我们村的路灯坏了", "低保怎么申请", "谢谢", "办结 １０１", "举报村干部", "🙂", "a" * 50]
READ_TIMEOUT = 1          # seconds, so that the slow-client cases finish quickly
Outcome = tuple[int, tuple[str, object] | None]      # (status, (channel, msgid sent) if it could be stored)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Fuzzer:
    def __init__(self, url: str, standin: WeComStandIn, clock: ManualClock, http: aiohttp.ClientSession,
                 rng: random.Random):
        self.url, self.standin, self.clock, self.http, self.rng = url, standin, clock, http, rng
        self.host, self.port = url.removeprefix("http://").split(":")
        self.serial = 0

    def msgid(self) -> str:
        self.serial += 1
        return f"fz-{self.serial}"

    def now(self) -> None:
        self.clock.set(datetime.now(TZ))

    # -- transport -------------------------------------------------------------------------------------------
    async def post(self, path: str, params: dict, body: bytes, headers: dict | None = None) -> int:
        try:
            async with self.http.post(self.url + path, params=params, data=body, headers=headers) as resp:
                await resp.read()
                return resp.status
        except aiohttp.ClientError:
            return 0

    async def get(self, path: str, params: dict | None = None) -> int:
        try:
            async with self.http.get(self.url + path, params=params) as resp:
                await resp.read()
                return resp.status
        except aiohttp.ClientError:
            return 0

    async def raw(self, data: bytes, trickle: bool = False) -> int:
        """Exact bytes; trickle: the headers, then the body a byte every half second (slower than allowed)."""
        reader, writer = await asyncio.open_connection(self.host, int(self.port))
        head, _, body = data.partition(b"\r\n\r\n")

        answered = asyncio.Event()

        async def dribble() -> None:
            for byte in body:
                await asyncio.sleep(0.5)
                if answered.is_set():      # writing on after the answer would race the server's close (RST)
                    return
                writer.write(bytes([byte]))
                await writer.drain()

        try:
            writer.write(head + b"\r\n\r\n" if trickle else data)
            await writer.drain()
            sending = asyncio.create_task(dribble()) if trickle else None
            answer = await asyncio.wait_for(reader.read(1), 30)
            answered.set()
            answer += await asyncio.wait_for(reader.read(), 30)
            if sending is not None:
                sending.cancel()
        except (ConnectionError, asyncio.TimeoutError):
            return 0
        finally:
            writer.close()
        found = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
        return int(found[1]) if found else 0

    # -- payloads --------------------------------------------------------------------------------------------
    def aibot_payload(self, msgid: object, **changes) -> dict:
        self.now()
        payload = self.standin.aibot_message(chatid=self.rng.choice(GROUPS), userid=f"resident-{self.rng.randrange(50)}",
                                             text=self.rng.choice(TEXTS), msgid="x")
        payload["msgid"] = msgid
        for key, value in changes.items():
            if value is ...:
                payload.pop(key, None)
            else:
                payload[key] = value
        return payload

    async def aibot(self, payload: dict | str, skew: timedelta = timedelta()) -> int:
        self.clock.set(datetime.now(TZ) + skew)
        params, body = self.standin.seal_aibot(payload)
        self.now()                          # the stand-in's own checks (response_url age) run on today's time
        return await self.post("/wecom/aibot", params, body)

    def bridge_request(self, message: dict | bytes, stamp: str | None = None, signature: bytes | None = None) -> bytes:
        raw = message if isinstance(message, bytes) else json.dumps(message, ensure_ascii=False).encode()
        stamp = stamp or str(int(time.time()))
        sig = signature or bridge_signature(SECRET, stamp, raw).encode()
        return (b"POST /bridge HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n"
                b"X-Xiaowei-Timestamp: %s\r\nX-Xiaowei-Signature: %s\r\n\r\n%s" % (len(raw), stamp.encode(), sig, raw))

    def bridge_message(self, given_msgid: object, **changes) -> dict:
        sent = datetime.now(TZ) - timedelta(minutes=self.rng.randrange(60))
        message = {"msgid": given_msgid, "chat_id": self.rng.choice(GROUPS), "sender": {"userid": "wx-abc", "name": "阿婆"},
                   "text": self.rng.choice(TEXTS), "sent_at": sent.isoformat(), "mentions_bot": self.rng.random() < .1}
        return {**message, **changes}

    def junk(self, depth: int = 0) -> object:
        """A JSON value of any type, a few levels deep at most."""
        scalars = [None, True, self.rng.randrange(-10**12, 10**12), 1.5, "", "\udcff路灯\x00", "长" * 8001, "帮助"]
        if depth >= 3 or self.rng.random() < .6:
            return self.rng.choice(scalars)
        if self.rng.random() < .5:
            return [self.junk(depth + 1) for _ in range(self.rng.randrange(3))]
        return {self.rng.choice(["content", "msg_item", "userid", "url", "x"]): self.junk(depth + 1)}

    # -- the cases -------------------------------------------------------------------------------------------
    async def aibot_valid(self) -> Outcome:
        msgid = self.msgid()
        kind = self.rng.choice(["text", "mixed", "voice"])
        changes = {} if kind == "text" else {"msgtype": kind, "text": ..., kind: (
            {"msg_item": [{"msgtype": "text", "text": {"content": "@小微 路灯"}},
                          {"msgtype": "image", "image": {"url": "https://x"}}]} if kind == "mixed"
            else {"content": "路灯坏了"})}
        return await self.aibot(self.aibot_payload(msgid, **changes)), ("aibot", msgid)

    async def app_valid(self) -> Outcome:
        msgid = str(10**12 + self.serial)
        self.msgid()
        self.now()
        params, body = self.standin.seal_app(userid=f"resident-{self.rng.randrange(50)}", text=self.rng.choice(TEXTS),
                                             msgid=msgid)
        return await self.post("/wecom/app", params, body), ("app", msgid)

    async def bridge_valid(self) -> Outcome:
        msgid = self.msgid()
        return await self.raw(self.bridge_request(self.bridge_message(msgid))), ("bridge", msgid)

    async def url_check(self) -> Outcome:
        self.now()
        which = self.rng.choice(["aibot", "app"])
        params, _ = self.standin.url_check(which)
        return await self.get(f"/wecom/{which}", params), None

    async def healthz(self) -> Outcome:
        return await self.get("/healthz"), None

    async def bridge_non_ascii_header(self) -> Outcome:
        msgid = self.msgid()
        stamp, raw = str(int(time.time())), json.dumps(self.bridge_message(msgid)).encode()
        if self.rng.random() < .5:
            request = self.bridge_request(raw, stamp, "签名".encode() + b"\xff")
        else:
            request = self.bridge_request(raw, stamp).replace(stamp.encode(), "１７".encode() + b"\xfe", 1)
        return await self.raw(request), ("bridge", msgid)

    async def aibot_deep_json(self) -> Outcome:
        self.now()
        params, _ = self.standin.seal_aibot(self.aibot_payload(self.msgid()))
        depth = self.rng.choice([30, 3000, 30000])
        body = self.rng.choice([b'{"encrypt": ' + b"[" * depth + b"]" * depth + b"}", b"[" * depth,
                                b'{"encrypt": {"a": ' * 50 + b"1" + b"}" * 50])
        return await self.post("/wecom/aibot", params, body), None

    async def aibot_sealed_deep(self) -> Outcome:
        return await self.aibot('{"msgid": ' + "[" * 20000 + "]" * 20000 + "}"), None

    WRONG = [{"chatid": ["a", "b"]}, {"text": "路灯坏了"}, {"response_url": {"url": "x"}},
             {"msgtype": "mixed", "mixed": "路灯"}, {"msgtype": "mixed", "mixed": {"msg_item": ["x"]}},
             {"msgtype": "mixed", "mixed": {"msg_item": [{"msgtype": "text", "text": 5}]}},
             {"msgtype": "voice", "voice": "路灯"}, {"msgtype": "voice", "voice": {"content": ["x"]}},
             {"from": None}, {"from": {"userid": None}}, {"quote": "x"}, {"text": {"content": "长" * 8001}},
             {"response_url": "file:///etc/passwd"}, {"response_url": "http://169.254.169.254/latest/meta-data"},
             {"response_url": "https://qyapi.weixin.qq.com.evil.example/x"}, {"chattype": 1}, {"msgtype": ...}]

    async def aibot_wrong_shape(self) -> Outcome:
        msgid = self.msgid()
        changes = self.rng.choice(self.WRONG)
        return await self.aibot(self.aibot_payload(msgid, **changes)), ("aibot", msgid)

    async def aibot_bad_msgid(self) -> Outcome:
        msgid = self.rng.choice([None, ["a", "b"], "", 12345, "m\n1", "m" * 129, {"id": 1}])
        return await self.aibot(self.aibot_payload(msgid)), ("aibot", msgid)

    async def aibot_junk(self) -> Outcome:
        msgid = self.msgid()
        payload = self.aibot_payload(msgid)
        for key in self.rng.sample(sorted(payload), self.rng.randrange(1, 4)):
            payload[key] = self.junk()
        if isinstance(payload["msgid"], str):   # a junk string ("帮助") recurs: keep ids unique, to match them up
            payload["msgid"] = msgid
        return await self.aibot(json.dumps(payload)), ("aibot", payload["msgid"])

    async def bridge_wrong_shape(self) -> Outcome:
        msgid = self.msgid()
        changes = self.rng.choice([{"sent_at": "9999-12-31T23:59:59-12:00"}, {"sent_at": "0001-01-01T00:00:00+14:00"},
                                   {"sent_at": "1970-01-01T00:00:00+00:00"}, {"sent_at": "2100-01-01T00:00:00"},
                                   {"sender": None}, {"sender": {"userid": ""}}, {"mentions_bot": "yes"},
                                   {"text": ["x"]}, {"chat_id": None}, {"msgid": None}, {"msgid": ["a", "b"]},
                                   {"msgid": ""}])
        message = self.bridge_message(msgid, **changes)
        return await self.raw(self.bridge_request(message)), ("bridge", message["msgid"])

    async def stale(self) -> Outcome:
        skew = self.rng.choice([timedelta(days=-1), timedelta(days=10), timedelta(seconds=-700), timedelta(hours=1)])
        msgid = self.msgid()
        which = self.rng.choice(["aibot", "app", "check", "bridge"])
        if which == "aibot":
            return await self.aibot(self.aibot_payload(msgid), skew), ("aibot", msgid)
        if which == "bridge":
            stamp = str(int((datetime.now(TZ) + skew).timestamp()))
            return await self.raw(self.bridge_request(self.bridge_message(msgid), stamp)), ("bridge", msgid)
        self.clock.set(datetime.now(TZ) + skew)
        if which == "app":
            app_msgid = str(2 * 10**12 + self.serial)
            params, body = self.standin.seal_app(userid="resident-1", text="帮助", msgid=app_msgid)
            self.now()
            return await self.post("/wecom/app", params, body), ("app", app_msgid)
        params, _ = self.standin.url_check("aibot")
        self.now()
        return await self.get("/wecom/aibot", params), None

    async def forged(self) -> Outcome:
        msgid = self.msgid()
        self.now()
        params, body = self.standin.seal_aibot(self.aibot_payload(msgid))
        params["msg_signature"] = self.rng.choice(["0" * 40, params["msg_signature"][::-1], "签名", ""])
        return await self.post("/wecom/aibot", params, body), ("aibot", msgid)

    async def oversized(self) -> Outcome:
        self.now()
        params, _ = self.standin.seal_app(userid="u", text="x")
        return await self.post(self.rng.choice(["/wecom/app", "/wecom/aibot", "/bridge"]), params,
                               b"<xml>" + b"x" * (70 * 1024) + b"</xml>"), None

    async def bad_expect(self) -> Outcome:
        path = self.rng.choice([b"/healthz", b"/wecom/aibot", b"/bridge", b"/nowhere"])
        return await self.raw(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: \x80\xff\r\n\r\n" % path), None

    async def random_request(self) -> Outcome:
        rng = self.rng
        method = rng.choice(["GET", "POST", "PUT", "HEAD", "DELETE", "BREW"])
        path = rng.choice(["/wecom/aibot", "/wecom/app", "/bridge", "/healthz", "/", "/%FF", "/../etc/passwd"])
        query = "&".join(f"{rng.choice(['msg_signature', 'timestamp', 'nonce', 'echostr', 'x'])}="
                         f"{quote(rng.choice(['', '1', '9' * 40, '签名', '%', str(int(time.time()))]))}"
                         for _ in range(rng.randrange(5)))
        headers = b"".join(rng.choice([b"X-Xiaowei-Signature", b"X-Xiaowei-Timestamp", b"Content-Type", b"Cookie",
                                       b"Content-Encoding"]) + b": " + bytes(rng.randrange(0x20, 0x100)
                                                                          for _ in range(rng.randrange(20))) + b"\r\n"
                           for _ in range(rng.randrange(4)))
        body = rng.randbytes(rng.randrange(400))
        return await self.raw(f"{method} {path}?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                              f"Content-Length: {len(body)}\r\n".encode() + headers + b"\r\n" + body), None

    async def slow_client(self) -> Outcome:
        msgid = self.msgid()
        return await self.raw(self.bridge_request(self.bridge_message(msgid)), trickle=True), ("bridge", msgid)


CASES = {  # name: weight (per 1,000 requests)
    "aibot_valid": 120, "app_valid": 60, "bridge_valid": 60, "url_check": 20, "healthz": 20,
    "bridge_non_ascii_header": 50, "aibot_deep_json": 40, "aibot_sealed_deep": 10, "aibot_wrong_shape": 120,
    "aibot_bad_msgid": 50, "aibot_junk": 100, "bridge_wrong_shape": 80, "stale": 70, "forged": 40, "oversized": 15,
    "bad_expect": 15, "random_request": 128, "slow_client": 2,
}


def start_server(tmp: Path, port: int, standin: WeComStandIn) -> subprocess.Popen:
    config = tmp / "config.toml"
    config.write_text(example_config_path().read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XIAOWEI_SERVER_PORT": str(port),
           "XIAOWEI_SERVER_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT), "XIAOWEI_STORAGE_PATH": str(tmp / "xiaowei.db"),
           "XIAOWEI_WECOM_CORP_ID": standin.corp_id, "XIAOWEI_WECOM_SECRET": standin.corp_secret,
           "XIAOWEI_WECOM_AGENT_ID": str(standin.agent_id), "XIAOWEI_WECOM_TOKEN": standin.app_token,
           "XIAOWEI_WECOM_ENCODING_AES_KEY": standin.app_aes_key, "XIAOWEI_WECOM_API_BASE": standin.url,
           "XIAOWEI_AIBOT_TOKEN": standin.aibot_token, "XIAOWEI_AIBOT_ENCODING_AES_KEY": standin.aibot_aes_key,
           "XIAOWEI_BRIDGE_SECRET": SECRET}
    log = open(tmp / "serve.log", "w", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(config)], cwd=ROOT, env=env,
                            stderr=log, stdout=log)
    deadline = time.monotonic() + 60
    while "listening on" not in (tmp / "serve.log").read_text(encoding="utf-8"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("xiaowei serve did not start:\n" + (tmp / "serve.log").read_text(encoding="utf-8"))
        time.sleep(0.1)
    return proc


async def run(requests: int, seed: int, concurrency: int) -> int:
    rng = random.Random(seed)
    clock = ManualClock(datetime.now(TZ))
    with tempfile.TemporaryDirectory(prefix="xiaowei-fuzz-") as tmp_name:
        tmp = Path(tmp_name)
        async with WeComStandIn(clock) as standin:
            port = free_port()
            proc = start_server(tmp, port, standin)
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
                    fuzzer = Fuzzer(f"http://127.0.0.1:{port}", standin, clock, http, rng)
                    names = rng.choices(list(CASES), weights=list(CASES.values()), k=requests)
                    gate = asyncio.Semaphore(concurrency)

                    async def one(name: str) -> tuple[str, Outcome]:
                        async with gate:
                            return name, await getattr(fuzzer, name)()

                    started = time.perf_counter()
                    results = await asyncio.gather(*(one(n) for n in names))
                    elapsed = time.perf_counter() - started
                    await asyncio.sleep(2)                   # let the bot finish handling before it is read
                    alive = proc.poll() is None and await fuzzer.get("/healthz") == 200
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        db = sqlite3.connect(tmp / "xiaowei.db")
        stored = {(c, m) for c, m in db.execute("SELECT channel, msgid FROM messages")}
        db.close()
        tracebacks = Counter(re.findall(r"(?m)^([\w.]+(?:Error|Exception|Message))\b",
                                        (tmp / "serve.log").read_text(encoding="utf-8")))
    return report(results, stored, alive, elapsed, tracebacks)


def report(results: list[tuple[str, Outcome]], stored: set, alive: bool, elapsed: float,
           tracebacks: Counter) -> int:
    by_status = Counter(status for _, (status, _) in results)
    by_case: dict[str, Counter] = defaultdict(Counter)
    accepted, refused = set(), set()
    for name, (status, key) in results:
        by_case[name][status] += 1
        if key is not None:
            # a msgid that is not a string can never be stored as such: if its repr ("None") turns up, that is a bug
            msgid = key[1] if isinstance(key[1], str) else f"<not a string: {key[1]!r}>"
            (accepted if status == 200 else refused).add((key[0], msgid))
    print(f"{len(results)} requests in {elapsed:.1f} s")
    print("by status: " + ", ".join(f"{s or 'no answer'} × {n}" for s, n in sorted(by_status.items())))
    for name in CASES:
        print(f"  {name:<24} " + ", ".join(f"{s or 'none'}×{n}" for s, n in sorted(by_case[name].items())))
    server_errors = sum(n for s, n in by_status.items() if s >= 500)
    unexpected = stored - accepted
    missing = accepted - stored
    leaked = stored & refused
    print(f"5xx: {server_errors}; server alive at the end: {alive}")
    print("exceptions in the server's log: " + (", ".join(f"{k} × {n}" for k, n in tracebacks.items()) or "none"))
    print(f"stored {len(stored)} messages; accepted {len(accepted)}; stored but never accepted: {len(unexpected)}; "
          f"accepted but not stored: {len(missing)}; stored from a refused request: {len(leaked)}")
    ok = server_errors == 0 and alive and not unexpected and not missing and not leaked and not by_status[0]
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    return asyncio.run(run(args.requests, args.seed, args.concurrency))


if __name__ == "__main__":
    sys.exit(main())
