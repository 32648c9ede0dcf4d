"""The daily routine: roster import, news add/status, run-job, jobs."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timedelta
from pathlib import Path


def add_commands(add) -> None:
    p = add("roster", "导入值班表（CSV，可用 Excel 编辑；格式见 data/roster.example.csv）")
    p.add_argument("action", choices=["import"], help="import 导入")
    p.add_argument("file", help="值班表 CSV 文件")
    p.set_defaults(run=roster_import)
    p = add("news", "正能量信息库：add 加入（文件或 --title/--body），status 查看各村剩余条数")
    p.add_argument("action", choices=["add", "status"], help="add 加入 / status 查看")
    p.add_argument("file", nargs="?", help=".toml 或 .jsonl 文件")
    p.add_argument("--title", help="标题")
    p.add_argument("--body", help="正文")
    p.add_argument("--source", default="", help="来源（可选）")
    p.add_argument("--valid-from", default=None, help="开始发送的日期，如 2026-12-01（可选）")
    p.add_argument("--valid-until", default=None, help="最后一天，过了不再发，如 2026-12-31（可选）")
    p.add_argument("--villages", default="", help="只发给这些村，用逗号分隔（可选，默认全部）")
    p.set_defaults(run=news)
    p = add("run-job", "按指定时间手动运行一个定时任务：duty_notice / news / nags / publicity / digest")
    p.add_argument("name", help="任务名")
    p.add_argument("--at", help="按这个时间运行，如 2026-12-01T08:00+08:00（默认今天该任务的时间）")
    p.add_argument("--dry-run", action="store_true", help="只打印将发出的每条消息（按群、按人），不发送、不记录")
    p.set_defaults(run=run_job)
    add("jobs", "列出定时任务、下次运行时间和今天的完成情况").set_defaults(run=jobs)
    add("power-list", "列出小微权力清单：各事项的类别、公开周期、公示期、是否事前公示、由谁准备",
        config=None).set_defaults(run=power_list)


def roster_import(args: argparse.Namespace) -> int:
    from bot import roster
    from bot.cli.common import config, db
    cfg = config(args)
    try:
        text = roster.read_text(Path(args.file))
    except OSError as exc:
        print(f"错误：打不开 {args.file}（{exc.strerror}）", file=sys.stderr)
        return 2
    parsed, errors = roster.parse(cfg, text)
    if errors:
        print(f"值班表有 {len(errors)} 处错误，未导入任何内容：", file=sys.stderr)
        print("\n".join(f"  {e}" for e in errors), file=sys.stderr)
        return 1
    database = db(cfg)
    with database.atomic():
        roster.save(database, parsed)
    lines = roster.summary(cfg, parsed)
    print("值班表已导入：" if lines else "文件里没有值班记录。")
    print("\n".join(f"  {line}" for line in lines))
    return 0


def news(args: argparse.Namespace) -> int:
    from bot import news as pool
    from bot.cli.common import config, db
    from bot.clock import SystemClock
    cfg = config(args)
    database, now = db(cfg), SystemClock().now()
    if args.action == "status":
        with database.atomic():
            pool.load_dir(database, now)
        for town in cfg.towns:
            print(f"{town.name}：")
            for village in town.villages:
                print(f"  {village.name}：还剩 {pool.remaining(database, village.name, now.date())} 条未发")
        return 0
    try:
        if args.file:
            items = pool.read_file(Path(args.file))
        elif args.title and args.body:
            items = [pool.item({"title": args.title, "body": args.body, "source": args.source,
                                "valid_from": args.valid_from, "valid_until": args.valid_until,
                                "villages": args.villages}, "这条信息")]
        else:
            print("用法：xiaowei news add FILE（.toml 或 .jsonl），或 --title 标题 --body 正文 [--source 来源]",
                  file=sys.stderr)
            return 2
    except (pool.NewsError, OSError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    with database.atomic():
        added = pool.add(database, items, now)
    print(f"已加入正能量信息库 {added} 条" + (f"（{len(items) - added} 条已存在，未重复加入）" if added < len(items) else "")
          + "。")
    return 0


def run_job(args: argparse.Namespace) -> int:
    from bot import plugins
    from bot.cli.common import config
    from bot.clock import SystemClock, local
    from bot.jobs import slot
    cfg = config(args)
    found = {job.name: job for job in plugins.jobs()}
    job = found.get(args.name.strip().replace("-", "_"))
    if job is None:
        print(f"错误：没有名为 {args.name} 的任务，可选：{'、'.join(found)}", file=sys.stderr)
        return 2
    try:
        at = local(args.at) if args.at else slot(job, cfg, SystemClock().now().date())
    except ValueError:
        print(f"错误：无法识别时间 {args.at}，请写成 2026-12-01T08:00+08:00", file=sys.stderr)
        return 2
    return asyncio.run(_run(cfg, list(found.values()), job.name, at, args.dry_run))


async def _run(cfg, jobs, name: str, at: datetime, dry_run: bool) -> int:
    """Run one job as of `at`. It never waits for messages it does not handle; what it queued is listed, and
    sent at once unless a running server holds the outbox (then the server sends it)."""
    from bot.app import Bot
    from bot.clock import FixedClock
    bot = Bot(cfg, jobs=jobs, clock=FixedClock(at), dry_run=dry_run)
    await bot.start(background=False)
    try:
        before = await bot.store.read(lambda db: db.execute("SELECT COALESCE(MAX(id), 0) FROM outbox").fetchone()[0])
        await bot.jobs.run(name, at)
        if bot.rehearsed is not None:
            made = bot.rehearsed
        else:
            if bot.sending:
                await bot.outbox.drain()
            made = await bot.store.read(lambda db: list(db["outbox"].rows_where("id > ?", [before], order_by="id")))
    finally:
        await bot.stop()
    verb = "将发出" if dry_run else "新增"
    print(f"按 {at:%Y-%m-%d %H:%M} 运行 {name}{'（演练，未发送、未记录）' if dry_run else ''}：{verb} {len(made)} 条消息。")
    for line in describe(cfg, made):
        print(line)
    waiting = sum(1 for row in made if row.get("status") == "pending")
    if waiting and not dry_run:
        print(f"{waiting} 条待发（限速、失败重试或服务正在运行），服务运行时会继续发送。")
    return 0


def describe(cfg, rows: list[dict]) -> list[str]:
    """What a job made, group by group and person by person, as the recipients will read it."""
    from bot.roles import Roles
    roles = Roles(cfg)
    robots = {v.webhook_key: f"{v.name}群" for v in cfg.villages()}
    robots |= {t.inspector_webhook_key: f"{t.name}纪委群" for t in cfg.towns if t.inspector_webhook_key}
    by_target: dict[str, list[str]] = {}
    for row in rows:
        payload = json.loads(row["payload"])
        body = payload.get("text") or payload.get("markdown") or {}
        if row["kind"] == "robot":
            where = robots.get(row["target"], "群机器人")
            mentions = [roles.person(u).name for u in body.get("mentioned_list", []) if roles.person(u)]
            text = body.get("content", "") + "".join(f" @{m}" for m in mentions)
        elif row["kind"] == "app":
            person = roles.person(payload["touser"])
            where = f"私信 {person.display if person else payload['touser']}"
            text = body.get("content", "")
        else:
            where, text = "回复", body.get("content", "")
        by_target.setdefault(where, []).append(text)
    lines = []
    for where, texts in by_target.items():
        lines.append(f"{where}（{len(texts)} 条）：")
        for text in texts:
            parts = text.splitlines() or [""]
            lines += [f"  ▸ {parts[0]}", *(f"    {p}" for p in parts[1:])]
    return lines


def jobs(args: argparse.Namespace) -> int:
    from bot import plugins
    from bot.cli.common import calendar, config, db
    from bot.clock import SystemClock
    cfg = config(args)
    print("\n".join(job_lines(cfg, plugins.jobs(), SystemClock().now(), db(cfg), calendar(args))))
    return 0


def job_lines(cfg, jobs, now: datetime, database, cal) -> list[str]:
    from bot.jobs import next_run
    lines = []
    for job in jobs:
        count = database.execute("SELECT COUNT(*) FROM job_runs WHERE job = ? AND day = ?",
                                 [job.name, now.date().isoformat()]).fetchone()[0]
        done = f"  今天已完成 {count} 个对象" if count else "  今天尚未运行"
        at = next_run(job, cfg, now)
        while job.name == "nags" and not cal.is_workday(at.date()):
            at = next_run(job, cfg, at + timedelta(seconds=1))   # nags wait for a working day
        when = f"每小时第 {job.when(cfg):%M} 分" if job.hourly else f"每天 {job.when(cfg):%H:%M}"
        lines.append(f"{job.name:<12} {job.title}  {when}  下次 {at:%Y-%m-%d %H:%M}{done}")
    return lines + ["（催办只在工作日的上班时间发出。）"]


def power_list(args: argparse.Namespace) -> int:
    from bot.cli.common import config
    from bot.config import load_config, shipped_power_list
    listed = config(args).power_list if args.config else load_config(_sample()).power_list
    print(f"小微权力清单（{listed.source or shipped_power_list()}），共 {len(listed.items)} 项：")
    for category in ("党务", "村务", "财务"):
        print(f"  {category}：")
        print("\n".join(f"    {line}" for line, item in zip(listed.lines(), listed.items) if item.category == category))
    if listed.start:
        print(f"  从 {listed.start:%Y-%m-%d} 之后结束的周期起计算公开及时率")
    return 0


def _sample() -> Path:
    from bot.sandbox.config import example_config_path
    return example_config_path()
