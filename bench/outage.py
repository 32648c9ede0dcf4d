"""A 72-hour WeCom outage against the stand-in, on the injected clock (run by hand: python bench/outage.py).

Thirty villages' mornings — duty notice, news, replies through response_url, busy groups with more than a
minute's worth of robot messages, private nags — are queued on day 1 and again on days 2 and 3, while every
WeCom endpoint drops the connection for 72 hours. The clock moves by each delay drain() returns (no sleeping).
Then WeCom comes back. Prints: rows, attempts, delivered, duplicates, order per lane, busiest robot minute
(the limit is 20), parked rows, and how long the backlog took to drain after the recovery."""
from __future__ import annotations

import argparse
import json
import logging
import asyncio
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import Bot  # noqa: E402
from bot.clock import ManualClock  # noqa: E402
from bot.config import Cadre, Config, Person, Village  # noqa: E402
from bot.inbox import Message  # noqa: E402
from bot.outbox import content_of  # noqa: E402
from bot.sandbox.config import sandbox_config  # noqa: E402
from bot.sandbox.standin import ENDPOINTS, WeComStandIn  # noqa: E402

START = "2026-12-01T07:55:00+08:00"
OUTAGE = timedelta(hours=72)
FAULTS = 400_000          # dropped connections queued per endpoint: more than 72 hours of retries use


def town_of(config: Config, n: int) -> Config:
    villages = tuple(
        Village(name=f"第{i:02d}村", town=config.towns[0].name, chat_id=f"chat-{i}", webhook_key=f"robot-{i}",
                cadres=(Cadre(f"v{i}-sec", f"书记{i}", "党支部书记", secretary=True),
                        Cadre(f"v{i}-duty", f"值班{i}", "村委委员")),
                link_leader=Person(f"v{i}-leader", f"挂包{i}", "副镇长（挂包）"))
        for i in range(1, n + 1))
    return replace(config, towns=(replace(config.towns[0], villages=villages),), admin_webhook_key="robot-it")


def mornings(bot: Bot, standin: WeComStandIn, start: datetime, days: int, busy: int) -> list[tuple[datetime, object]]:
    """(when, transaction) for each morning's traffic; every text is unique, so a duplicate shows."""
    events = []
    for day in range(days):
        base = start + timedelta(days=day)
        for i, village in enumerate(bot.config.villages()):
            def duty(db, out, v=village, d=day):
                out.group(v, f"【值班公告】第{d + 1}天 {v.name} 今日值班：{v.cadres[1].name}", mentions=[v.cadres[1].userid])
            def news(db, out, v=village, d=day):
                out.group(v, f"【正能量】第{d + 1}天 {v.name}：村里修好了路灯", markdown=True)
            def nags(db, out, v=village, d=day):
                out.members([v.cadres[0].userid], f"【催办提醒】第{d + 1}天 {v.name} 有 2 件诉求今天到期")
                out.members([v.cadres[1].userid], f"【值班提醒】第{d + 1}天 {v.name} 今天由你值班")
            def replies(db, out, v=village, d=day, n=(25 if i < busy else 2)):
                for k in range(n):
                    msg = Message(channel="aibot", msgid=f"{v.name}-{d}-{k}", chattype="group", sender=f"r{k}",
                                  text="@小微 路灯坏了", received_at=bot.clock.now(), chat_id=v.chat_id, village=v,
                                  response_url=standin.new_response_url())
                    out.reply(msg, f"第{d + 1}天 {v.name} 已登记第{k + 1}件，编号 {d}{i:02d}{k:02d}")
            events += [(base + timedelta(minutes=5), duty), (base + timedelta(minutes=65), news),
                       (base + timedelta(minutes=95), nags), (base + timedelta(minutes=120), replies)]
    return sorted(events, key=lambda e: e[0])


def sent_texts(standin: WeComStandIn) -> dict[str, list[str]]:
    """What each recipient received, in order: robot key, member, or the response URL's code."""
    got: dict[str, list[str]] = defaultdict(list)
    for key, messages in standin.robot_messages.items():
        got[f"robot:{key}"] += [content_of(m) for m in messages]
    for m in standin.app_messages:
        got[f"app:{m['touser']}"].append(content_of(m))
    for code, m in standin.response_posts.items():
        got[f"response:{code}"].append(content_of(m))
    return got


def busiest_robot_minute(standin: WeComStandIn) -> int:
    sent = defaultdict(list)
    for r in standin.requests:
        if r.endpoint == "webhook" and r.errcode == 0:
            sent[r.target].append(r.at)
    return max((sum(1 for t in times if at - timedelta(seconds=60) < t <= at) for times in sent.values()
                for at in times), default=0)


async def run(villages: int, busy: int) -> dict:
    clock = ManualClock(START)
    async with WeComStandIn(clock) as standin:
        with tempfile.TemporaryDirectory() as tmp:
            config = town_of(sandbox_config(standin, Path(tmp) / "outage.db"), villages)
            bot = Bot(config, clock=clock, schedule=False)
            await bot.start(background=False)
            outage_from = clock.now() + timedelta(minutes=5)
            outage_to = outage_from + OUTAGE
            events = mornings(bot, standin, outage_from, 3, busy)
            for endpoint in ENDPOINTS:
                standin.disconnect_next(endpoint, times=FAULTS)
            recovered = False
            zero_steps, wall = 0, time.perf_counter()
            while True:
                while events and events[0][0] <= clock.now():
                    await bot.commit(events.pop(0)[1])
                if not recovered and clock.now() >= outage_to:
                    standin.clear_faults()
                    recovered, requests_in_outage = True, len(standin.requests)
                delay = await bot.outbox.drain()
                waits = [delay] if delay is not None else []
                waits += [(events[0][0] - clock.now()).total_seconds()] if events else []
                waits += [] if recovered else [(outage_to - clock.now()).total_seconds()]
                if not waits:
                    break
                step = max(min(waits), 0.0)
                zero_steps = zero_steps + 1 if step == 0 else 0
                assert zero_steps < 1000, "the sender makes no progress"
                clock.advance(seconds=step)
            wall = time.perf_counter() - wall
            rows = await bot.store.read(lambda db: list(db.query("SELECT * FROM outbox ORDER BY id")))
            await bot.stop()
    got = sent_texts(standin)
    expected: dict[str, list[str]] = defaultdict(list)     # each lane's rows in the order they were queued
    for r in rows:
        if r["status"] != "rerouted":
            expected[r["lane"] if r["kind"] != "response" else f"response:{r['target'].split('=')[-1]}"].append(
                content_of(json.loads(r["payload"])))
    counts = Counter(text for texts in got.values() for text in texts)
    after = [r.at for r in standin.requests[requests_in_outage:] if r.errcode == 0]
    by_status = Counter(r["status"] for r in rows)
    return {
        "villages": villages, "rows": len(rows), "by_status": dict(by_status),
        "queued_texts": sum(len(v) for v in expected.values()),
        "attempts": sum(r["attempts"] for r in rows), "requests": len(standin.requests),
        "requests_in_outage": requests_in_outage,
        "delivered": sum(counts.values()), "distinct_delivered": len(counts),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "lanes": len(expected), "lanes_in_order": sum(1 for lane, texts in expected.items() if got.get(lane) == texts),
        "busiest_robot_minute": busiest_robot_minute(standin),
        "answers_45009": sum(1 for r in standin.requests if r.errcode == 45009),
        "drains": bot.outbox.drains, "queries": bot.outbox.queries,
        "drain_after_recovery": (max(after) - outage_to) if after else None,
        "first_after_recovery": (min(after) - outage_to) if after else None,
        "wall_seconds": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--villages", type=int, default=30)
    ap.add_argument("--busy", type=int, default=5, help="villages with 25 replies a morning (over a robot minute)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)   # the figures, not one warning per row and lane
    figures = asyncio.run(run(args.villages, args.busy))
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    ok = (figures["duplicates"] == 0 and figures["distinct_delivered"] == figures["queued_texts"]
          and figures["lanes_in_order"] == figures["lanes"] and figures["busiest_robot_minute"] <= 20
          and figures["by_status"].get("parked", 0) == 0)
    print("OK: every row delivered once, in order, within the limit" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
