"""The duty roster (`xiaowei roster import FILE`): a CSV a township clerk fills in Excel (save as CSV; UTF-8 or
the GBK Excel writes by default both work). See data/roster.example.csv. Columns, found by their header:

    类型        排班 (default) = that date only; 轮值 = part of a rotation that repeats
    村（社区）   the village as named in the configuration
    日期        2026-12-01, 2026/12/1 or 2026年12月1日
    值班干部     name or WeCom userid of one of the village's cadres; several on one 排班 day: 李明、陈芳
    备注        optional, ignored

轮值 rows give one cycle once: one cadre a day on consecutive dates; the cycle then repeats from its first date.
A file's 排班 days replace those days; its rotation replaces the village's rotation. Nothing is saved unless the
whole file is correct; every error names the line and the column."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from sqlite_utils import Database

from bot.config import Config, Village

COLUMNS = {"type": ("类型", "方式"), "village": ("村（社区）", "村(社区)", "村", "社区", "村居"),
           "day": ("日期", "值班日期"), "cadre": ("值班干部", "值班人", "值班人员", "姓名"), "note": ("备注",)}
REQUIRED = ("village", "day", "cadre")
EXPLICIT, ROTATION = ("排班", "值班", ""), ("轮值", "轮班", "轮流")
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_SPLIT = re.compile(r"[、，,;；/\s]+")


@dataclass
class Roster:
    days: dict[tuple[str, date], list[str]] = field(default_factory=dict)
    rotations: dict[str, list[tuple[date, str, int]]] = field(default_factory=dict)   # (day, userid, line)


def read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")   # Excel's "CSV (逗号分隔)" on Chinese Windows


def parse(config: Config, text: str) -> tuple[Roster, list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return Roster(), ["文件是空的：第 1 行应为表头：类型,村（社区）,日期,值班干部"]
    header = [h.strip() for h in rows[0]]
    where = {key: header.index(name) for key, names in COLUMNS.items() for name in names if name in header}
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in where]
    if missing:
        return Roster(), [f"第 1 行（表头）：缺少“{'”“'.join(missing)}”列；表头应为：类型,村（社区）,日期,值班干部"]
    roster, errors = Roster(), []   # (line, problem), reported in file order
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cell = {k: (row[i].strip() if i < len(row) else "") for k, i in where.items()}
        spot = {k: f"第 {line} 行 {_letter(i)} 列（{header[i]}）" for k, i in where.items()}
        errors += [(line, problem) for problem in _row(config, roster, line, cell, spot)]
    errors += _check_rotations(roster)
    return roster, [problem for _, problem in sorted(errors, key=lambda e: e[0])]


def _row(config: Config, roster: Roster, line: int, cell: dict, spot: dict) -> list[str]:
    kind = cell.get("type", "")
    if kind not in EXPLICIT + ROTATION:
        return [f"{spot['type']}：“{kind}”看不懂，请填“排班”（只排这一天）或“轮值”（循环排班）"]
    village = config.village_by_name(cell["village"])
    if village is None:
        known = "、".join(v.name for v in config.villages())
        return [f"{spot['village']}：没有“{cell['village']}”，应为配置中的村名之一：{known}"]
    found = _DATE.match(cell["day"])
    try:
        day = date(int(found[1]), int(found[2]), int(found[3])) if found else None
    except ValueError:
        day = None
    if day is None:
        return [f"{spot['day']}：“{cell['day']}”不是日期，请写成 2026-12-01"]
    names = [n for n in _SPLIT.split(cell["cadre"]) if n]
    if not names:
        return [f"{spot['cadre']}：不能为空"]
    userids, errors = [], []
    for name in names:
        userid, problem = _cadre(village, name)
        if problem:
            errors.append(f"{spot['cadre']}：{problem}")
        userids.append(userid)
    if errors:
        return errors
    if kind in ROTATION:
        if len(userids) != 1:
            return [f"{spot['cadre']}：轮值每天只能填一名干部；一天多人请用“排班”"]
        roster.rotations.setdefault(village.name, []).append((day, userids[0], line))
    else:
        slot = roster.days.setdefault((village.name, day), [])
        slot += [u for u in userids if u not in slot]
    return []


def _cadre(village: Village, name: str) -> tuple[str, str]:
    matches = [c for c in village.cadres if name in (c.userid, c.name)]
    if len(matches) == 1:
        return matches[0].userid, ""
    if matches:
        return "", f"{village.name}有 {len(matches)} 位干部叫“{name}”，请改填企业微信账号"
    return "", f"{village.name}没有叫“{name}”的干部（可填姓名或企业微信账号：" \
               + "、".join(c.name for c in village.cadres) + "）"


def _check_rotations(roster: Roster) -> list[tuple[int, str]]:
    errors = []
    for name, entries in roster.rotations.items():
        entries.sort()
        for (prev, _, _), (day, _, line) in zip(entries, entries[1:]):
            if day != prev + timedelta(days=1):
                problem = "与上一天重复" if day == prev else f"与前一个日期 {prev.isoformat()} 不连续"
                errors.append((line, f"第 {line} 行：{name}的轮值日期 {day.isoformat()} {problem}；"
                              "轮值要逐日连续地写一轮，之后自动循环"))
    return errors


def save(db: Database, roster: Roster) -> None:
    for (village, day), userids in roster.days.items():
        db.execute("DELETE FROM duty_roster WHERE village = ? AND day = ?", [village, day.isoformat()])
        for userid in userids:
            db.execute("INSERT INTO duty_roster (village, day, userid) VALUES (?, ?, ?)",
                       [village, day.isoformat(), userid])
    for village, entries in roster.rotations.items():
        db.execute("DELETE FROM duty_rotation WHERE village = ?", [village])
        for position, (day, userid, _) in enumerate(entries):
            db.execute("INSERT INTO duty_rotation (village, start_day, position, userid) VALUES (?, ?, ?, ?)",
                       [village, entries[0][0].isoformat(), position, userid])


def summary(config: Config, roster: Roster) -> list[str]:
    lines = []
    for village in config.villages():
        days = sorted(d for (v, d) in roster.days if v == village.name)
        span = days and (days[0].isoformat() + (f" 至 {days[-1].isoformat()}" if len(days) > 1 else ""))
        parts = [f"排班 {len(days)} 天（{span}）"] if days else []
        rotation = roster.rotations.get(village.name)
        if rotation:
            names = "→".join(village.cadre(u).name for _, u, _ in rotation)
            parts.append(f"轮值 {names}，从 {rotation[0][0].isoformat()} 起每 {len(rotation)} 天一轮")
        if parts:
            lines.append(f"{village.name}：{'；'.join(parts)}")
    return lines


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
