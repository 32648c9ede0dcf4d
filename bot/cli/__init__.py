"""The `xiaowei` command: a thin shell over the library; each command is a few lines that call it and print.

Commands live in six modules by what they are for; each module's heavy imports sit inside its commands, so
that `xiaowei classify` starts fast."""
from __future__ import annotations

import argparse
import logging
import os
import sys

from bot.cli import cases, delivery, reports, routine, service, tools, zh
from bot.config import ConfigError

GROUPS = (service, cases, reports, delivery, routine, tools)   # in the order `xiaowei --help` lists them


def build_parser() -> argparse.ArgumentParser:
    zh.install()
    parser = argparse.ArgumentParser(prog="xiaowei", description="小微：村级微信群诉求登记、限时办理与监督机器人")
    parser.add_argument("-v", "--verbose", action="store_true", help="更详细的日志")
    sub = parser.add_subparsers(dest="command", metavar="命令", required=True, title="命令")
    default_config = os.environ.get("XIAOWEI_CONFIG", "config.toml")

    def add(name: str, help: str, config: bool | None = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        if config:
            p.add_argument("--config", default=default_config, help="配置文件路径（默认 config.toml 或 $XIAOWEI_CONFIG）")
        elif config is None:
            p.add_argument("--config", default=None, help="配置文件路径（可选：读取其中的节假日目录和截止时刻）")
        return p

    for group in GROUPS:
        group.add_commands(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"配置有误：{exc}", file=sys.stderr)
        return 2
