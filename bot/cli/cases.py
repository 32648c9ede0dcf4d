"""Cases and their history: cases, audit, corrections."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STATUSES = {"open": ("unconfirmed", "open"), "overdue": ("unconfirmed", "open"), "done": ("answered", "closed")}


def add_commands(add) -> None:
    p = add("cases", "列出诉求（不含举报线索）")
    p.add_argument("--village", help="只看这个村（社区）")
    p.add_argument("--status", choices=list(STATUSES), help="open 办理中 / overdue 已超期 / done 已办结")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象")
    p.set_defaults(run=list_cases)
    p = add("audit", "核验诉求历史、消息和各项记录是否被改动、删除、调换顺序或伪造")
    p.add_argument("action", choices=["verify"], help="verify 核验")
    p.add_argument("--anchors", metavar="FILE", help="锚点文件（每天日报时记下的审计链尾），用来核对链尾没有被截掉")
    p.set_defaults(run=audit)
    p = add("corrections", "把干部的改类纠正导出到 data/corrections/，供 xiaowei train 学习")
    p.add_argument("action", choices=["export"], help="export 导出")
    p.set_defaults(run=corrections)


def select(db, now, village: str | None, status: str | None):
    """Cases for an operator's listing; clues (reports) are never among them."""
    from bot import cases
    found = cases.find(db, village=village, statuses=STATUSES.get(status, ()))
    return [c for c in found if c.overdue(now)] if status == "overdue" else found


def list_cases(args: argparse.Namespace) -> int:
    from bot.cli.common import config, db
    from bot.clock import SystemClock
    cfg = config(args)
    if args.village and not cfg.village_by_name(args.village):
        print(f"配置中没有“{args.village}”。", file=sys.stderr)
        return 2
    return print_cases(db(cfg), SystemClock().now(), sys.stdout, village=args.village, status=args.status,
                       as_json=args.json)


def print_cases(db, now, out, *, village: str | None, status: str | None, as_json: bool) -> int:
    from bot import wording
    from bot.cases import LEVEL_NAMES, STATUS_NAMES
    found = select(db, now, village, status)
    if as_json:
        for c in found:
            print(json.dumps({"number": c.number, "village": c.village, "kind": c.kind, "status": c.status,
                              "level": c.level, "received_at": c.received_at.isoformat(),
                              "due_at": c.due_at.isoformat(), "overdue": c.overdue(now), "text": c.text},
                             ensure_ascii=False), file=out)
        return 0
    if not found:
        print("没有符合条件的诉求。", file=out)
        return 0
    for c in found:
        late = "【超期】" if c.overdue(now) else ""
        print(f"{c.number:>6}  {c.village}  {c.kind_name}  {STATUS_NAMES[c.status]}{late}  "
              f"{LEVEL_NAMES[c.level]}  期限{wording.day(c.due_at)}  {wording.snippet(c.text, 30)}", file=out)
    print(f"共 {len(found)} 件", file=out)
    return 0


def audit(args: argparse.Namespace) -> int:
    from bot import ledger
    from bot.audit import verify
    from bot.cli.common import config, db
    cfg = config(args)
    key = ledger.signing_key(cfg)
    if key is None:
        print(f"找不到审计密钥：配置里没有 [audit] key，也没有环境变量 XIAOWEI_AUDIT_KEY 或密钥文件 "
              f"{ledger.key_file(cfg)}。请用写入时的那把密钥核验。", file=sys.stderr)
        return 2
    try:
        anchors = ledger.read_anchors(Path(args.anchors)) if args.anchors else None
    except (OSError, ValueError) as exc:
        print(f"读不了锚点文件：{exc}", file=sys.stderr)
        return 2
    database = db(cfg)
    problems = verify(database, key, anchors)
    count = ledger.head(database)[0]
    tail = (f"链尾已与 {len(anchors)} 个锚点核对。" if anchors else
            f"链尾未核对：请加 --anchors {cfg.audit.anchor_file}（或另存的副本）。")
    if not problems:
        print(f"核验通过：审计链 {count} 条记录完整，诉求登记、事件、当前状态、消息、已发消息、催办、纠正和任务记录"
              "均与它一致。")
    else:
        print(f"发现 {len(problems)} 处问题（审计链共 {count} 条记录）：")
        for p in problems:
            print(f"  - {p}")
    print(tail)
    if ledger.predates(database):
        print("注意：启用审计链以前写入的记录，是在启用时按当时的内容封存的；那以前的改动只能靠事件哈希链发现。")
    return 1 if problems else 0


def corrections(args: argparse.Namespace) -> int:
    from bot.cli.common import config, db
    from bot.clock import SystemClock
    from bot.corrections import default_dir, export
    path, count = export(db(config(args)), default_dir(), SystemClock().now().date())
    print(f"已导出 {count} 条干部纠正到 {path}；运行 xiaowei train 让模型学到它们。")
    return 0
