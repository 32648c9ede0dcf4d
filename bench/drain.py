"""How fast a burst is handled, not only acknowledged (run by hand): N signed AI-bot callbacks at concurrency C to
a real `xiaowei serve` subprocess (as bench/load.py), while the database is polled (read-only) for handled
messages. Prints acknowledged/s, handled/s (until the last message is handled), their ratio, and how many were
handled by the time the burst had been acknowledged. Usage: python bench/drain.py [--requests N] [--concurrency C]"""
from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from load import callbacks, cpu_seconds, free_port, post_all, start_xiaowei  # noqa: E402

from bot.clock import TZ, ManualClock  # noqa: E402
from bot.sandbox.standin import WeComStandIn  # noqa: E402


def handled(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute("SELECT COUNT(*) FROM messages WHERE status != 'new'").fetchone()[0]


async def run(requests: int, concurrency: int) -> None:
    clock = ManualClock(datetime.now(TZ))
    with tempfile.TemporaryDirectory(prefix="xiaowei-drain-") as tmp_name:
        tmp = Path(tmp_name)
        async with WeComStandIn(clock) as standin:
            port = free_port()
            proc = start_xiaowei(tmp, port, standin)
            try:
                url = f"http://127.0.0.1:{port}/wecom/aibot"
                await post_all(url, callbacks(standin, 64, "w"), concurrency)     # warm-up
                while handled(tmp / "xiaowei.db") < 64:
                    await asyncio.sleep(0.05)
                sealed = callbacks(standin, requests, "d")
                cpu = cpu_seconds(proc)
                start = time.monotonic()
                seconds, latencies, failures = await post_all(url, sealed, concurrency)
                at_end = handled(tmp / "xiaowei.db") - 64
                while (done := handled(tmp / "xiaowei.db") - 64) < requests - failures:
                    await asyncio.sleep(0.02)
                all_handled = time.monotonic() - start
                cpu = cpu_seconds(proc) - cpu
            finally:
                proc.terminate()
                proc.wait(30)
    ack_rate, handle_rate = len(latencies) / seconds, done / all_handled
    print(f"acknowledged {ack_rate:7.0f}/s   handled {handle_rate:7.0f}/s   ratio {handle_rate / ack_rate:.2f}"
          f"   handled when the burst was acknowledged: {at_end}/{requests}   non-200: {failures}")
    # Acknowledging, handling and sending (the replies go out meanwhile) all in: what one message costs the server.
    print(f"server CPU per message, received to handled: {cpu / done * 1e3:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.requests, args.concurrency))


if __name__ == "__main__":
    main()
