"""What several commands share: the configuration, a database connection, the calendar."""
from __future__ import annotations

import argparse
from pathlib import Path

from bot import data
from bot.config import Config, load_config


def config(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def db(cfg: Config):
    from bot.storage import connect
    return connect(cfg.storage_path)


def calendar(args: argparse.Namespace):
    from bot.workdays import WorkCalendar
    extra = config(args).rules.holiday_dirs if args.config else ()
    return WorkCalendar((Path(str(data("holidays"))), *extra))
