"""What the inspectors and the county read: clues, trends, export. The clue ledger is the inspectors' own: it is
listed here and written to a file on the county's machine, never sent through a group."""
from __future__ import annotations

import argparse
import re
import sys

STATUSES = {"open": ("unconfirmed", "open"), "done": ("answered", "closed")}


def month(value: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"月份应写成 2026-12 这样，实际是 {value!r}")
    return value


def add_commands(add) -> None:
    p = add("clues", "列出问题线索台账（只给纪委人员看）：每条线索的环节、结论和处置经过")
    p.add_argument("--town", help="只看这个镇（街道）")
    p.add_argument("--month", type=month, help="只看这个月收到的，例如 2026-12")
    p.set_defaults(run=list_clues)
    p = add("trends", "近几周反复出现的问题（按话题归并诉求）和入户走访名单（多次不满意或超期的群众和村）")
    p.add_argument("--town", help="只看这个镇（街道）")
    p.add_argument("--weeks", type=int, default=4, help="往前看几周（默认 4）")
    p.set_defaults(run=list_trends)
    p = add("export", "导出 Excel：诉求（可筛选）、问题线索台账（只给纪委人员）、月度考核")
    p.add_argument("what", choices=["cases", "clues", "assessment"],
                   help="cases 诉求 / clues 问题线索台账 / assessment 月度考核")
    p.add_argument("--town", help="只导出这个镇（街道）")
    p.add_argument("--month", type=month, help="月份，例如 2026-12（考核默认上个月；诉求和线索默认全部）")
    p.add_argument("--village", help="诉求：只导出这个村（社区）")
    p.add_argument("--status", choices=list(STATUSES), help="诉求：open 办理中 / done 已办结")
    p.add_argument("--out", required=True, metavar="FILE.xlsx", help="写到这个 Excel 文件")
    p.set_defaults(run=export)


def _known_town(cfg, town: str | None) -> bool:
    if town and town not in {t.name for t in cfg.towns}:
        print(f"配置中没有“{town}”。", file=sys.stderr)
        return False
    return True


def list_clues(args: argparse.Namespace) -> int:
    from bot.cli.common import config, db
    from bot.clock import SystemClock
    cfg = config(args)
    if not _known_town(cfg, args.town):
        return 2
    for line in clue_lines(db(cfg), cfg, SystemClock().now(), town=args.town, month=args.month):
        print(line)
    return 0


def clue_lines(database, cfg, now, *, town: str | None, month: str | None) -> list[str]:
    from bot import clue_ledger
    from bot.assessment import month_bounds
    from bot.clock import local
    start, end = month_bounds(month) if month else (None, None)
    found = clue_ledger.entries(database, cfg, now, town=town, received_from=start, received_before=end)
    if not found:
        return ["没有符合条件的线索。"]
    lines = []
    for e in found:
        flags = (f"｜结论：{e.outcome}" if e.outcome else "") + ("｜诬告陷害待查" if e.flagged else "") + \
            (f"｜已为{e.cleared}澄清正名" if e.cleared else "") + ("｜超期未受理" if e.overdue else "")
        lines.append(f"{e.number}｜{e.town}·{e.village}｜{local(e.received_at):%Y-%m-%d}｜{e.stage}{flags}")
        lines += [f"    {local(s.at):%m-%d %H:%M} {s.action}（{s.actor}）" + (f"：{s.note}" if s.note else "")
                  for s in e.steps]
    return lines + [f"共 {len(found)} 条"]


def list_trends(args: argparse.Namespace) -> int:
    from bot.cli.common import config, db
    from bot.clock import SystemClock
    cfg = config(args)
    if not _known_town(cfg, args.town):
        return 2
    for line in trend_lines(db(cfg), SystemClock().now(), town=args.town, weeks=max(args.weeks, 1)):
        print(line)
    return 0


def trend_lines(database, now, *, town: str | None, weeks: int) -> list[str]:
    from datetime import timedelta
    from bot import trends
    since = now - timedelta(weeks=weeks)
    topics = trends.recurring_topics(database, since, now, town=town)
    lines = [f"近 {weeks} 周反复出现的问题："] if topics else [f"近 {weeks} 周没有跨村或跨周反复出现的问题。"]
    lines += [f"  {t.word}：{len(t.numbers)} 件，{len(t.villages)} 个村（{'、'.join(sorted(t.villages))}），"
              f"{len(t.weeks)} 周；编号 {'、'.join(t.numbers[:10])}" for t in topics]
    visits = trends.visit_list(database, now, since, town=town)
    lines.append("入户走访名单：" if visits else "入户走访名单：暂无。")
    for v in visits:
        who = f"{v.village}·{v.name or '群众'}（{v.requester}）" if v.requester else f"{v.village}（全村）"
        lines.append(f"  {who}：不满意 {len(v.unsatisfied)} 件，超期 {len(v.overdue)} 件；"
                     f"编号 {'、'.join(dict.fromkeys(v.unsatisfied + v.overdue))}")
    return lines


def export(args: argparse.Namespace) -> int:
    from bot import exports
    from bot.cli.common import calendar, config, db
    from bot.clock import SystemClock
    cfg = config(args)
    if not _known_town(cfg, args.town):
        return 2
    if args.village and not cfg.village_by_name(args.village):
        print(f"配置中没有“{args.village}”。", file=sys.stderr)
        return 2
    now = SystemClock().now()
    book = workbook(db(cfg), cfg, calendar(args), now, args.what, town=args.town, month=args.month,
                    village=args.village, status=args.status)
    path = exports.save(book, args.out)
    print(f"已导出到 {path}")
    return 0


def workbook(database, cfg, calendar, now, what: str, *, town=None, month=None, village=None, status=None):
    from bot import assessment, exports
    if what == "cases":
        return exports.cases_workbook(database, cfg, now, town=town, village=village, month=month,
                                      statuses=STATUSES.get(status, ()))
    if what == "clues":
        return exports.clues_workbook(database, cfg, now, town=town, month=month)
    chosen = month or f"{assessment.previous_month(now.date()):%Y-%m}"
    return exports.assessment_workbook(assessment.assess(database, cfg, calendar, chosen, now, town=town))
