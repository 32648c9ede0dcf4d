"""Benchmark of the morning at province scale: N villages in towns of 15–30 and M open cases, built through the
project's own functions (bot.cases.open_case, in big transactions), then each morning job timed through the
JobRunner with a FixedClock (composing and queuing only: api_base points at nothing and the outbox is never
drained), with check-config (load_config of the generated TOML), `serve` start (Bot + start(background=False))
and the deadline scan (pressing over all active cases). Each size is built in one fresh process and measured in
another, so the peak RSS is the measuring process's own.

Run by hand: python bench/province.py [--sizes 1000:100000,5000:300000,15000:1000000]"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import cases, plugins  # noqa: E402
from bot.app import Bot  # noqa: E402
from bot.casework import pressing  # noqa: E402
from bot.clock import TZ, FixedClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.storage import connect  # noqa: E402
from bot.workdays import WorkCalendar  # noqa: E402
from bot import data  # noqa: E402

DAY = date(2026, 12, 2)                      # a Wednesday, a working day
MORNING = datetime(2026, 12, 2, 8, 0, tzinfo=TZ)
JOBS = (("duty_notice", "08:00"), ("news", "09:00"), ("nags", "09:30"), ("digest", "08:00"))
KINDS = ("consult", "help", "help", "suggestion", "disclosure")
TEXTS = ("村口路灯坏了好几天了", "低保申请要准备什么材料", "建议在村小门口装减速带", "村务公开栏很久没更新了",
         "自来水水压太低", "垃圾清运不及时")
KEY = "bench-audit-key-not-secret"


def toml(villages: int, folder: Path) -> str:
    """A complete configuration: the example's sections, then the towns."""
    head = (ROOT / "bot/data/config.example.toml").read_text(encoding="utf-8").split("[[towns]]")[0]
    head = head.replace('path = "var/xiaowei.db"', f'path = "{folder / "province.db"}"') \
        .replace('api_base = "https://qyapi.weixin.qq.com"', 'api_base = "http://127.0.0.1:9"') \
        .replace('key = ""\nanchor_file = "var/xiaowei.anchors"',
                 f'key = "{KEY}"\nanchor_file = "{folder / "anchors"}"')
    rng, parts, made, t = random.Random(7), [head], 0, 0
    while made < villages:
        t += 1
        size = min(rng.randint(15, 30), villages - made)
        town = f"第{t:04d}镇"
        parts.append(f'[[towns]]\nname = "{town}"\ninspector_webhook_key = ""\n'
                     f'inspectors = [{{ userid = "t{t}-jw1", name = "纪{t}", post = "镇纪委书记", phone = "13800000001" }}]\n'
                     f'staff = [{{ userid = "t{t}-zf", name = "镇{t}", post = "副镇长", phone = "13800000003" }}]\n')
        for i in range(1, size + 1):
            v = f"t{t}v{i}"
            parts.append(
                f'[[towns.villages]]\nname = "{town}{i:02d}村"\nchat_id = "chat-{v}"\nwebhook_key = "robot-{v}"\n'
                f'link_leader = {{ userid = "{v}-ll", name = "挂{v}", post = "副镇长（挂包）", phone = "13800000004" }}\n'
                f'cadres = [\n  {{ userid = "{v}-sec", name = "书{v}", post = "党支部书记", phone = "13900000011", '
                f'secretary = true }},\n  {{ userid = "{v}-duty", name = "值{v}", post = "村委会主任", '
                f'phone = "13900000012" }},\n]\n')
        made += size
    return "\n".join(parts)


def build(villages: int, count: int, folder: Path) -> dict:
    started = time.perf_counter()
    path = folder / "province.toml"
    path.write_text(toml(villages, folder), encoding="utf-8")
    config = load_config(path)
    db = connect(config.storage_path, audit_key=KEY.encode())
    db.execute("PRAGMA synchronous = OFF")        # building only; the measuring process runs as the service does
    calendar = WorkCalendar((Path(str(data("holidays"))),))
    all_villages = list(config.villages())
    rng, due = random.Random(11), {}
    with db.atomic():
        db.conn.executemany("INSERT INTO duty_rotation (village, start_day, position, userid) VALUES (?, ?, ?, ?)",
                            [(v.name, "2026-01-01", p, c.userid) for v in all_villages
                             for p, c in enumerate(v.cadres)])
    for start in range(0, count, 20_000):
        with db.atomic():
            for n in range(start, min(start + 20_000, count)):
                village = all_villages[n % len(all_villages)]
                kind = "report" if n % 100 == 99 else KINDS[n % len(KINDS)]
                back = rng.randint(0, 20)       # received over the last four weeks: some due soon, some overdue
                received = datetime.combine(DAY - timedelta(days=back), datetime.min.time(), TZ) + timedelta(hours=9)
                limit = "consult" if kind == "report" else kind
                if (limit, back) not in due:
                    due[limit, back] = calendar.due_at(limit, received)
                cases.open_case(db, message_id=None, town=village.town, village=village.name, kind=kind,
                                # A clue's text shorter than the guard's window, so no two clues share a quoted run.
                                text=f"举报{n:07d}" if kind == "report" else TEXTS[n % len(TEXTS)],
                                requester=f"r{n}", chat_id=village.chat_id, received_at=received,
                                due_at=due[limit, back], now=received)
    db.close()
    return {"build_s": round(time.perf_counter() - started, 1)}


async def measure(folder: Path) -> dict:
    figures = {}
    started = time.perf_counter()
    config = load_config(folder / "province.toml")
    figures["check_config_s"] = time.perf_counter() - started
    started = time.perf_counter()
    bot = Bot(config, handlers=plugins.handlers(), jobs=plugins.jobs(), clock=FixedClock(MORNING), schedule=False)
    await bot.start(background=False)
    figures["serve_start_s"] = time.perf_counter() - started
    for name, when in JOBS:
        hour, minute = map(int, when.split(":"))
        at = MORNING.replace(hour=hour, minute=minute)
        before = bot.store.read_sync(lambda db: db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        started = time.perf_counter()
        await bot.jobs.run(name, at)
        figures[f"{name}_s"] = time.perf_counter() - started
        figures[f"{name}_queued"] = bot.store.read_sync(
            lambda db: db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]) - before
    figures["job_errors"] = bot.store.read_sync(
        lambda db: db.execute("SELECT COUNT(*) FROM alerts WHERE key LIKE 'job-error:%'").fetchone()[0])
    started = time.perf_counter()
    at = MORNING.replace(hour=9, minute=30)
    figures["pressing"] = bot.store.read_sync(
        lambda db: sum(1 for c in cases.active(db) if pressing(c, bot.calendar, at)))
    figures["deadline_scan_s"] = time.perf_counter() - started
    figures["commits"] = bot.store.commits
    await bot.stop()
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}


def child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000:100000,5000:300000,15000:1000000", help="villages:cases,…")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        villages, count, folder = args.build.split(":", 2)
        print(json.dumps(build(int(villages), int(count), Path(folder))))
        return
    if args.measure:
        print(json.dumps(asyncio.run(measure(Path(args.measure)))))
        return
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    columns = ("build_s", "check_config_s", "serve_start_s", "duty_notice_s", "news_s", "nags_s", "digest_s",
               "deadline_scan_s", "peak_rss_mb", "pressing", "nags_queued", "duty_notice_queued", "commits",
               "job_errors")
    print("| villages | cases | " + " | ".join(columns) + " |")
    print("|" + "---|" * (len(columns) + 2))
    for size in args.sizes.split(","):
        villages, count = map(int, size.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            row = child(["--build", f"{villages}:{count}:{tmp}"]) | child(["--measure", tmp])
        print(f"| {villages} | {count} | " + " | ".join(str(row.get(c, "")) for c in columns) + " |", flush=True)


if __name__ == "__main__":
    main()
