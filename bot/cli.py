"""The `xiaowei` command: a thin shell over the library; each command is a few lines that call it.
Imports are made inside each command so that `xiaowei classify` starts fast."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Callable

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(fn: Callable[[argparse.Namespace], int]):
        COMMANDS[name] = fn
        return fn
    return register


def _config(args: argparse.Namespace):
    from bot.config import load_config
    return load_config(args.config)


@command("serve")
def serve(args: argparse.Namespace) -> int:
    from bot.app import AlreadyRunning, Bot
    from bot.server import serve as serve_forever
    config = _config(args)
    try:
        asyncio.run(serve_forever(Bot(config), config.server.host, config.server.port))
    except AlreadyRunning as exc:
        print(f"无法启动：{exc}", file=sys.stderr)
        return 1
    return 0


@command("check-config")
def check_config(args: argparse.Namespace) -> int:
    from bot.config import ConfigError, load_config
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
    villages = list(config.villages())
    print(f"配置正确：{args.config}")
    print(f"  {len(config.towns)} 个镇，{len(villages)} 个村（社区）：" + "、".join(v.name for v in villages))
    for name, value in (("自建应用回调", config.wecom.encoding_aes_key), ("智能机器人回调", config.aibot.encoding_aes_key),
                        ("桥接 /bridge", config.bridge.secret)):
        print(f"  {name}：{'已配置' if value else '未配置'}")
    return 0


@command("demo")
def demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo
    return asyncio.run(run_demo(sys.stdout, keep=args.keep))


@command("classify")
def classify(args: argparse.Namespace) -> int:
    from bot.classify_cmd import classify_main
    return classify_main(args.texts, sys.stdin, sys.stdout, sys.stderr)


@command("train")
def train(args: argparse.Namespace) -> int:
    from bot.classify_cmd import train_main
    return train_main(sys.stdout)


@command("calendar")
def calendar(args: argparse.Namespace) -> int:
    from bot.workdays import calendar_main
    return calendar_main(args.year, sys.stdout, _calendar(args))


@command("deadline")
def deadline(args: argparse.Namespace) -> int:
    from bot.workdays import deadline_main
    close = _config(args).rules.close_time if args.config else None
    extra = {"close": close} if close else {}
    return deadline_main(args.kind, args.received_at, sys.stdout, sys.stderr, _calendar(args), **extra)


@command("cases")
def list_cases(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.listing import cases_main
    config = _config(args)
    if args.village and not config.village_by_name(args.village):
        print(f"配置中没有“{args.village}”。", file=sys.stderr)
        return 2
    return cases_main(_db(config), SystemClock().now(), sys.stdout, village=args.village, status=args.status,
                      as_json=args.json)


@command("audit")
def audit(args: argparse.Namespace) -> int:
    from bot.audit import verify_main
    return verify_main(_db(_config(args)), sys.stdout)


@command("corrections")
def corrections(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from bot.corrections import export_main
    return export_main(_db(_config(args)), SystemClock().now().date(), sys.stdout)


@command("roster")
def roster(args: argparse.Namespace) -> int:
    from schedules.cli import roster_import_main
    config = _config(args)
    return roster_import_main(config, _db(config), args.file, sys.stdout, sys.stderr)


@command("news")
def news(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from schedules.cli import news_add_main, news_status_main
    config = _config(args)
    if args.action == "status":
        return news_status_main(config, _db(config), sys.stdout)
    return news_add_main(_db(config), SystemClock().now(), sys.stdout, sys.stderr, file=args.file,
                         title=args.title, body=args.body, source=args.source)


@command("run-job")
def run_job(args: argparse.Namespace) -> int:
    from schedules.cli import run_job_main
    return run_job_main(_config(args), args.name, args.at, sys.stdout, sys.stderr)


@command("jobs")
def jobs(args: argparse.Namespace) -> int:
    from bot.clock import SystemClock
    from schedules.cli import jobs_main
    config = _config(args)
    return jobs_main(config, SystemClock().now(), sys.stdout, _db(config), _calendar(args))


def _db(config):
    from bot.storage import connect
    return connect(config.storage_path)


def _calendar(args: argparse.Namespace):
    from bot import DATA_DIR
    from bot.workdays import WorkCalendar
    dirs = (DATA_DIR / "holidays", *(_config(args).rules.holiday_dirs if args.config else ()))
    return WorkCalendar(dirs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xiaowei", description="小微：村级微信群诉求登记、限时办理与监督机器人")
    parser.add_argument("-v", "--verbose", action="store_true", help="更详细的日志")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    default_config = os.environ.get("XIAOWEI_CONFIG", "config.toml")

    def add(name: str, help: str, config: bool | None = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if config:
            p.add_argument("--config", default=default_config, help="配置文件路径（默认 config.toml 或 $XIAOWEI_CONFIG）")
        elif config is None:
            p.add_argument("--config", default=None, help="配置文件路径（可选：读取其中的节假日目录和截止时刻）")
        return p

    add("serve", "启动服务：接收企业微信回调、发送消息、运行定时任务")
    add("check-config", "检查配置文件，指出哪一项有问题")
    p = add("demo", "演示：用临时数据库和本地模拟的企业微信，跑一个上午的群消息并打印群聊记录", config=False)
    p.add_argument("--keep", metavar="DIR", help="把演示数据库保存在这个目录（默认用完即删）")
    p = add("classify", "判断消息类型；不带参数时从标准输入逐行读取 JSON", config=False)
    p.add_argument("texts", nargs="*", help="要判断的文字")
    add("train", "用 data/ 下的训练语料和干部纠正重新生成模型 data/model.json", config=False)
    p = add("calendar", "查看某年的节假日和调休安排及其来源", config=None)
    p.add_argument("year", type=int)
    p = add("deadline", "计算办理期限：KIND 为 consult/help/suggestion/disclosure/escalation", config=None)
    p.add_argument("kind")
    p.add_argument("received_at", help="收到时间，ISO 8601，如 2026-09-30T10:00+08:00")
    p = add("cases", "列出诉求（不含举报线索）")
    p.add_argument("--village", help="只看这个村（社区）")
    p.add_argument("--status", choices=["open", "overdue", "done"], help="open 办理中 / overdue 已超期 / done 已办结")
    p.add_argument("--json", action="store_true", help="每行一个 JSON 对象")
    p = add("corrections", "把干部的改类纠正导出到 data/corrections/，供 xiaowei train 学习")
    p.add_argument("action", choices=["export"])
    p = add("roster", "导入值班表（CSV，可用 Excel 编辑；格式见 data/roster.example.csv）")
    p.add_argument("action", choices=["import"])
    p.add_argument("file")
    p = add("news", "正能量信息库：add 加入（文件或 --title/--body），status 查看各村剩余条数")
    p.add_argument("action", choices=["add", "status"])
    p.add_argument("file", nargs="?", help=".toml 或 .jsonl 文件")
    p.add_argument("--title")
    p.add_argument("--body")
    p.add_argument("--source", default="")
    p = add("run-job", "按指定时间手动运行一个定时任务：duty_notice / news / nags / digest")
    p.add_argument("name")
    p.add_argument("--at", help="按这个时间运行，如 2026-12-01T08:00+08:00（默认今天该任务的时间）")
    add("jobs", "列出定时任务、下次运行时间和今天的完成情况")
    p = add("audit", "核验诉求历史是否被改动、删除或调换顺序")
    p.add_argument("action", choices=["verify"])
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.config import ConfigError
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
