"""The installed plugins, found by entry point: the core names no handler or job module, it looks them up.

pyproject.toml declares the project's own (`xiaowei.handlers`: handlers:default_handlers, `xiaowei.jobs`:
schedules:JOBS); a county can add its own in another package under the same groups."""
from __future__ import annotations

from importlib.metadata import entry_points

from bot.dispatch import Handler
from bot.jobs import Job


class NoPlugins(RuntimeError):
    pass


def _load(group: str) -> list:
    found = sorted(entry_points(group=group), key=lambda ep: ep.name)
    if not found:
        raise NoPlugins(f"没有找到 {group} 插件：请先安装小微（pip install -e . 或安装 wheel）。")
    items: list = []
    for ep in found:
        value = ep.load()
        items += value() if callable(value) else value
    return items


def handlers() -> list[Handler]:
    return _load("xiaowei.handlers")


def jobs() -> list[Job]:
    return _load("xiaowei.jobs")
