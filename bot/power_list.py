"""The list of small powers (小微权力清单) as data: what each village must publish, how often, for how long.

"Due this cycle", precisely: a periodic item covers periods (a month, a quarter, a half year, a year, in local
dates). The obligation for a period is due at the close of the `due_workdays`-th working day after the period's
last day (working days as for cases: bot/workdays.py). Monthly 财务收支 with due_workdays = 10 for November 2026
is due by the end of 2026-12-14; quarterly 集体三资 for 2026 Q3 by the 10th working day of October (after the
National Day holiday). A 公示 of the item counts for the period it names in its title ("11月", "第三季度",
"上半年", "2026年") or, naming none, for the last period that ended before it was posted. Per-event items
(`per_event`) are published when the event happens and are never scheduled."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping

from bot.errors import ConfigError

CATEGORIES = ("党务", "村务", "财务")
CYCLES = {"monthly": "每月", "quarterly": "每季度", "half_yearly": "每半年", "yearly": "每年", "per_event": "每次发生时"}
_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}


@dataclass(frozen=True)
class PowerItem:
    name: str
    category: str
    cycle: str
    public_days: int
    before_decision: bool = False
    preparer: str = "党支部书记"
    due_workdays: int = 10
    keywords: tuple[str, ...] = ()

    @property
    def scheduled(self) -> bool:
        return self.cycle != "per_event"

    def describe(self) -> str:
        when = CYCLES[self.cycle] + (f"，期末后第{self.due_workdays}个工作日前公开" if self.scheduled else "")
        before = "，事前公示" if self.before_decision else ""
        return f"{self.name}（{self.category}）：{when}{before}，公示{self.public_days}个工作日，{self.preparer}准备"


_KEYS = frozenset(f.name for f in fields(PowerItem))     # what an item may say: exactly PowerItem's fields


@dataclass(frozen=True)
class Period:
    cycle: str
    start: date
    end: date

    @property
    def key(self) -> str:
        """Stored with each 公示: 2026-11, 2026-Q4, 2026-H2, 2026."""
        n = (self.start.month - 1) // _MONTHS[self.cycle] + 1
        return {"monthly": f"{self.start:%Y-%m}", "quarterly": f"{self.start.year}-Q{n}",
                "half_yearly": f"{self.start.year}-H{n}", "yearly": f"{self.start.year}"}[self.cycle]

    @property
    def label(self) -> str:
        n = (self.start.month - 1) // _MONTHS[self.cycle] + 1
        return {"monthly": f"{self.start.year}年{self.start.month}月", "quarterly": f"{self.start.year}年第{n}季度",
                "half_yearly": f"{self.start.year}年{'上' if n == 1 else '下'}半年",
                "yearly": f"{self.start.year}年"}[self.cycle]

    def before(self) -> "Period":
        return period_of(self.cycle, self.start - timedelta(days=1))


def period_of(cycle: str, day: date) -> Period:
    """The period of this cycle that contains the day."""
    size = _MONTHS[cycle]
    first = (day.month - 1) // size * size + 1
    start = date(day.year, first, 1)
    following = date(day.year + (first + size > 12), (first + size - 1) % 12 + 1, 1)
    return Period(cycle, start, following - timedelta(days=1))


def last_ended(cycle: str, day: date) -> Period:
    """The latest period of this cycle that ended before the day."""
    return period_of(cycle, day).before()


_CN = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def named_period(item: PowerItem, title: str, day: date) -> Period:
    """The period a 公示's title names ("2026年11月", "第三季度", "下半年", "2025年度"), else the last one ended;
    a month or quarter without a year is the latest such one not after the day."""
    if not item.scheduled:
        raise ValueError(f"{item.name} is published per event")
    year = re.search(r"(20\d\d)\s*年", title)
    y = int(year[1]) if year else None
    month = None
    if item.cycle == "monthly" and (m := re.search(r"(?<!\d)(1[0-2]|0?[1-9])\s*月", title)):
        month = int(m[1])
    elif item.cycle == "quarterly" and (m := re.search(r"第?([一二三四1-4])\s*季度", title)):
        month = (_CN[m[1]] - 1) * 3 + 1
    elif item.cycle == "half_yearly" and (m := re.search(r"([上下])半年", title)):
        month = 1 if m[1] == "上" else 7
    elif item.cycle == "yearly" and y is not None:
        month = 1
    if month is None:
        return last_ended(item.cycle, day)
    y = y if y is not None else day.year - (date(day.year, month, 1) > day)
    return period_of(item.cycle, date(y, month, 1))


@dataclass(frozen=True)
class PowerList:
    items: tuple[PowerItem, ...]
    source: str = ""
    start: date | None = None     # periods that ended before this day are not owed (the bot was not there yet)

    def find(self, words: str) -> PowerItem | None:
        """An item by its name, or by a prefix that names only one item."""
        words = words.strip()
        exact = [i for i in self.items if i.name == words]
        if exact:
            return exact[0]
        found = [i for i in self.items if words and i.name.startswith(words)]
        return found[0] if len(found) == 1 else None

    def scheduled(self) -> list[PowerItem]:
        return [i for i in self.items if i.scheduled]

    def lines(self) -> list[str]:
        return [i.describe() for i in self.items]


def read(path: Path) -> PowerList:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(文件)", "找不到小微权力清单文件") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(语法)", f"TOML 格式错误：{exc}") from None
    unknown = set(raw) - {"items"}
    if unknown:
        raise ConfigError(path, sorted(unknown)[0], "未知的配置项；清单里只写 [[items]]")
    return PowerList(parse(raw.get("items", []), path, "items"), source=str(path))


def parse(entries: Any, path: Path | str, where: str, *, base: Iterable[PowerItem] = ()) -> tuple[PowerItem, ...]:
    """Items from TOML tables; an entry with a name already in `base` replaces that item (keys it leaves out
    keep the base's values), a new name is added at the end."""
    if not isinstance(entries, list):
        raise ConfigError(path, where, "应为列表（[[items]]）")
    items = {i.name: i for i in base}
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        key = f"{where}[{n}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(path, key, "应为表")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(path, f"{key}.name", "缺少事项名称")
        if name in seen:
            raise ConfigError(path, f"{key}.name", f"事项 {name} 重复")
        seen.add(name)
        items[name] = _item(entry, items.get(name), path, f"{where}.{name}")
    return tuple(items.values())


def _item(entry: Mapping[str, Any], base: PowerItem | None, path: Path | str, where: str) -> PowerItem:
    for key in entry:
        if key not in _KEYS:
            raise ConfigError(path, f"{where}.{key}", "未知的配置项；可以写的有：" + "、".join(sorted(_KEYS)))

    def get(key: str, kind: type, default: Any = ...) -> Any:
        value = entry.get(key, getattr(base, key) if base is not None else default)
        if value is ...:
            raise ConfigError(path, f"{where}.{key}", "缺少此项（必填）")
        if kind is tuple:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(path, f"{where}.{key}", "应为文字列表")
            return tuple(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = {str: "文字", int: "整数", bool: "true 或 false"}
            raise ConfigError(path, f"{where}.{key}", f"应为{names[kind]}，实际是 {value!r}")
        return value
    category, cycle = get("category", str), get("cycle", str)
    if category not in CATEGORIES:
        raise ConfigError(path, f"{where}.category", f"应为 {'、'.join(CATEGORIES)} 之一，实际是 {category!r}")
    if cycle not in CYCLES:
        raise ConfigError(path, f"{where}.cycle", f"应为 {'、'.join(CYCLES)} 之一，实际是 {cycle!r}")
    item = PowerItem(name=get("name", str), category=category, cycle=cycle, public_days=get("public_days", int),
                     before_decision=get("before_decision", bool, False), preparer=get("preparer", str, "党支部书记"),
                     due_workdays=get("due_workdays", int, 10), keywords=get("keywords", tuple, ()))
    for key in ("public_days", "due_workdays"):
        if not 1 <= getattr(item, key) <= 60:
            raise ConfigError(path, f"{where}.{key}", f"应在 1 到 60 之间，实际是 {getattr(item, key)}")
    return item
