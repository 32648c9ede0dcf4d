"""Load on the webhook (run by hand): N signed AI-bot callbacks at concurrency C against the full webhook — a real
`xiaowei serve` in a subprocess on a free loopback port, with the sandbox config (the WeCom stand-in runs here,
so replies have somewhere to go) — and, in the same run with the same aiohttp client, against a bare aiohttp
server (another subprocess) that only verifies and decrypts with bot/crypto.py's CallbackCrypto.

Prints req/s, p50/p99 of each and the ratio. Usage: python bench/load.py [--requests N] [--concurrency C]
(bench/drain.py reuses the pieces: the callbacks, the server, the client loop)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import TZ, ManualClock  # noqa: E402
from bot.sandbox.config import example_config_path  # noqa: E402
from bot.sandbox.standin import WeComStandIn  # noqa: E402

GROUPS = ["wrkSFfCgAAcnchengnan", "wrkSFfCgAAcnshuanghong", "wrkSFfCgAAcngaofeng"]
# What a village group says in a busy hour: requests (each opens a case and is answered), chatter, help.
TEXTS = ["我们村的路灯坏了", "低保怎么申请", "谢谢", "收到", "村口的水管漏水了好几天", "帮助", "好的"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def callbacks(standin: WeComStandIn, n: int, prefix: str) -> list[tuple[dict, bytes]]:
    """Sealed before the clock starts, so the client spends its time on HTTP only."""
    return [standin.seal_aibot(standin.aibot_message(
        chatid=GROUPS[i % len(GROUPS)], userid=f"resident-{i % 97}", text=TEXTS[i % len(TEXTS)],
        msgid=f"{prefix}-{i}")) for i in range(n)]


def wait_listening(proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + 60
    while "listening on" not in log.read_text(encoding="utf-8"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start:\n" + log.read_text(encoding="utf-8"))
        time.sleep(0.05)


def start_xiaowei(tmp: Path, port: int, standin: WeComStandIn) -> subprocess.Popen:
    config = tmp / "config.toml"
    # An older checkout (XIAOWEI_BENCH_ROOT, below) is served with its own example: ours may have sections it lacks.
    root = os.environ.get("XIAOWEI_BENCH_ROOT")
    example = Path(root) / "config.example.toml" if root else example_config_path()
    config.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XIAOWEI_SERVER_PORT": str(port),
           "XIAOWEI_STORAGE_PATH": str(tmp / "xiaowei.db"),
           "XIAOWEI_WECOM_CORP_ID": standin.corp_id, "XIAOWEI_WECOM_SECRET": standin.corp_secret,
           "XIAOWEI_WECOM_AGENT_ID": str(standin.agent_id), "XIAOWEI_WECOM_TOKEN": standin.app_token,
           "XIAOWEI_WECOM_ENCODING_AES_KEY": standin.app_aes_key, "XIAOWEI_WECOM_API_BASE": standin.url,
           "XIAOWEI_AIBOT_TOKEN": standin.aibot_token, "XIAOWEI_AIBOT_ENCODING_AES_KEY": standin.aibot_aes_key}
    log = tmp / "serve.log"
    # XIAOWEI_BENCH_ROOT: serve another checkout (an older commit, for a before/after in the same conditions).
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve", "--config", str(config)],
                            cwd=os.environ.get("XIAOWEI_BENCH_ROOT", ROOT), env=env,
                            stderr=log.open("w", encoding="utf-8"), stdout=subprocess.DEVNULL)
    wait_listening(proc, log, "xiaowei serve")
    return proc


def start_bare(tmp: Path, port: int, standin: WeComStandIn) -> subprocess.Popen:
    log = tmp / "bare.log"
    proc = subprocess.Popen([sys.executable, __file__, "--bare", str(port), standin.aibot_token,
                             standin.aibot_aes_key], cwd=ROOT, stderr=log.open("w", encoding="utf-8"),
                            stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wait_listening(proc, log, "the bare server")
    return proc


def bare_server(port: int, token: str, aes_key: str) -> None:
    """The floor: what any aiohttp webhook must do per callback (read, verify the signature, decrypt, parse)."""
    from aiohttp import web

    from bot.crypto import CallbackCrypto, CallbackError

    crypto = CallbackCrypto(token, aes_key, "")

    async def callback(request: web.Request) -> web.Response:
        try:
            crypto.open_aibot_json(request.query, await request.read())
        except CallbackError:
            return web.Response(status=400)
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/wecom/aibot", callback)
    web.run_app(app, host="127.0.0.1", port=port, print=lambda _: print("listening on", port, file=sys.stderr))


async def post_all(url: str, sealed: list[tuple[dict, bytes]], concurrency: int) -> tuple[float, list[float], int]:
    """Post every callback, `concurrency` at a time, from a client in its own process; returns (seconds,
    latencies, non-200 answers). In this process the stand-in receives xiaowei's replies (the bare server sends
    none): a client sharing its event loop would be slowed in one run and not the other."""
    with tempfile.NamedTemporaryFile(suffix=".pickle") as batch:
        pickle.dump((url, sealed, concurrency), batch)
        batch.flush()
        proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--client", batch.name,
                                                    stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
    if proc.returncode:
        raise SystemExit("the client failed")
    return tuple(json.loads(out))  # type: ignore[return-value]


async def client(url: str, sealed: list[tuple[dict, bytes]], concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    pending = iter(sealed)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=60)) as http:
        async def worker() -> None:
            nonlocal failures
            for params, body in pending:
                t0 = time.monotonic()
                async with http.post(url, params=params, data=body) as resp:
                    await resp.read()
                    t1 = time.monotonic()
                    latencies.append(t1 - t0)
                    if resp.status != 200:
                        failures += 1
        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.monotonic() - start, latencies, failures


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User + system CPU the process has used so far, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(name: str, seconds: float, latencies: list[float], failures: int, cpu: float) -> float:
    """cpu: the server's CPU seconds over the run; per callback it is what the rate is bounded by."""
    rate = len(latencies) / seconds
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:8} {rate:8.0f} req/s   p50 {q[49] * 1000:6.1f} ms   p99 {q[98] * 1000:6.1f} ms"
          f"   server CPU {cpu / len(latencies) * 1e6:5.0f} µs per callback   non-200: {failures}")
    return rate


def profiler(proc: subprocess.Popen, out: str | None) -> subprocess.Popen | None:
    """py-spy (pip install py-spy) sampling the server while it is measured: where its time goes."""
    if not out:
        return None
    spy = subprocess.Popen(["py-spy", "record", "--format", "raw", "--threads", "-o", out, "-p", str(proc.pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return spy


def stop_profiler(spy: subprocess.Popen | None) -> None:
    if spy is not None:
        spy.send_signal(2)
        spy.wait(30)


async def run(requests: int, concurrency: int, profile: str | None = None) -> None:
    clock = ManualClock(datetime.now(TZ))
    with tempfile.TemporaryDirectory(prefix="xiaowei-load-") as tmp_name:
        tmp = Path(tmp_name)
        async with WeComStandIn(clock) as standin:
            bare_port, port = free_port(), free_port()
            bare, full = start_bare(tmp, bare_port, standin), start_xiaowei(tmp, port, standin)
            try:
                # A short warm-up of each (connections, first-call costs), then the measured runs.
                await post_all(f"http://127.0.0.1:{bare_port}/wecom/aibot", callbacks(standin, 64, "wb"), concurrency)
                await post_all(f"http://127.0.0.1:{port}/wecom/aibot", callbacks(standin, 64, "wx"), concurrency)
                sealed = callbacks(standin, requests, "b")
                before = cpu_seconds(bare)
                measured = await post_all(f"http://127.0.0.1:{bare_port}/wecom/aibot", sealed, concurrency)
                rb = summary("bare", *measured, cpu_seconds(bare) - before)
                sealed = callbacks(standin, requests, "x")
                spy = profiler(full, profile)
                before = cpu_seconds(full)
                measured = await post_all(f"http://127.0.0.1:{port}/wecom/aibot", sealed, concurrency)
                # xiaowei's CPU during the run includes the handling it did meanwhile (bench/drain.py: how much)
                rx = summary("xiaowei", *measured, cpu_seconds(full) - before)
                stop_profiler(spy)
                print(f"ratio    {rx / rb:.2f}× of bare")
            finally:
                for proc in (bare, full):
                    proc.terminate()
                    proc.wait(30)


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--bare":
        bare_server(int(sys.argv[2]), sys.argv[3], sys.argv[4])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        with open(sys.argv[2], "rb") as batch:
            print(json.dumps(asyncio.run(client(*pickle.load(batch)))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--py-spy", metavar="FILE", help="sample the server with py-spy into FILE (raw format)")
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency, args.py_spy))


if __name__ == "__main__":
    main()
