"""Delivery: what has not reached its recipient yet, and putting parked messages back in line."""
from __future__ import annotations

import argparse
import sys
from typing import TextIO

SHOWN_IDS = 10


def add_commands(add) -> None:
    p = add("outbox", "查看未送达的消息（待发送、已停止发送），或把停止发送的消息重新排队")
    p.add_argument("action", nargs="?", choices=["retry"], metavar="retry", help="retry 重发：把停止发送的消息重新排队，立即发送")
    p.add_argument("id", nargs="?", type=int, help="要重发的消息编号（xiaowei outbox 列出的编号）")
    p.add_argument("--all", action="store_true", help="重发全部停止发送的消息")
    p.set_defaults(run=outbox)


def outbox(args: argparse.Namespace) -> int:
    from bot.cli.common import config, db
    from bot.clock import SystemClock
    cfg = config(args)
    if args.action != "retry":
        return print_backlog(db(cfg), cfg, sys.stdout)
    if (args.id is None) == (not args.all):
        print("错误：请给出一个消息编号，或用 --all 重发全部（二者选一）。", file=sys.stderr)
        return 2
    return resend(db(cfg), SystemClock().now(), None if args.all else [args.id], sys.stdout)


def print_backlog(database, cfg, out: TextIO) -> int:
    from bot.undelivered import backlog, reason
    found = backlog(database, cfg)
    if not found:
        print("没有未送达的消息。", file=out)
        return 0
    parked = [b for b in found if b.status == "parked"]
    pending = [b for b in found if b.status == "pending"]
    print(f"未送达的消息：已停止发送 {sum(b.count for b in parked)} 条，待发送 {sum(b.count for b in pending)} 条。",
          file=out)
    for title, items in (("已停止发送（处理原因后重发）", parked), ("待发送（会自动重试）", pending)):
        if items:
            print(f"{title}：", file=out)
        for b in items:
            print(f"  {b.label} · {b.kind_name}  {b.count} 条，最早 {b.oldest:%m-%d %H:%M}", file=out)
            if b.last_error:
                print(f"    最近错误：{reason(b.last_error)}", file=out)
            print(f"    开头：{b.words}", file=out)
            if b.status == "parked":
                more = f" 等 {len(b.ids)} 条" if len(b.ids) > SHOWN_IDS else ""
                print(f"    编号：{'、'.join(map(str, b.ids[:SHOWN_IDS]))}{more}", file=out)
    if parked:
        print("重发：xiaowei outbox retry 编号，或 xiaowei outbox retry --all", file=out)
    return 0


def resend(database, now, ids: list[int] | None, out: TextIO) -> int:
    from bot.undelivered import retry
    with database.atomic():
        done = retry(database, now, ids)
    if not done:
        print("没有可重发的消息：" + ("该编号不是停止发送的消息。" if ids else "没有停止发送的消息。"), file=out)
        return 1 if ids else 0
    print(f"已重新排队 {len(done)} 条消息（编号 {'、'.join(map(str, done[:SHOWN_IDS]))}"
          f"{' 等' if len(done) > SHOWN_IDS else ''}）；服务运行时会在半分钟内发出。", file=out)
    return 0
