"""The 正能量 pool the township fills: items added by command or from files in data/news/ (TOML or JSONL).

TOML:  [[items]]  title = "…"  body = "…"  source = "…"(可选)
       valid_from = 2026-12-01  valid_until = 2026-12-31(可选：只在这段日期内发)  villages = ["城南村"](可选：只发这些村)
JSONL: one {"title": "…", "body": "…", "source": "…", "valid_from": "2026-12-01", …} per line.
An item is identified by its title and body, so loading the same file again adds nothing. An item with an end
date goes out before those without one (the soonest-ending first), so a seasonal notice is not left unposted."""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlite_utils import Database

from bot import data

NEWS_DIR = Path(str(data("news")))
TITLE_MAX, BODY_MAX = 40, 300   # characters: one phone screen


class NewsError(ValueError):
    """A pool file or item the township wrote is unusable; the message names the file and the item."""


@dataclass(frozen=True)
class NewsItem:
    title: str
    body: str
    source: str = ""
    valid_from: date | None = None
    valid_until: date | None = None
    villages: tuple[str, ...] = ()     # empty: every village

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.body}".encode()).hexdigest()[:20]

    def text(self) -> str:
        return f"【正能量】{self.title}\n{self.body}" + (f"\n（来源：{self.source}）" if self.source else "")


def item(raw: object, where: str) -> NewsItem:
    if not isinstance(raw, dict):
        raise NewsError(f"{where}：应包含 title（标题）和 body（正文）")
    title, body = str(raw.get("title", "")).strip(), str(raw.get("body", "")).strip()
    if not title or not body:
        raise NewsError(f"{where}：标题和正文都不能为空")
    if len(title) > TITLE_MAX or len(body) > BODY_MAX:
        raise NewsError(f"{where}：标题最多 {TITLE_MAX} 字、正文最多 {BODY_MAX} 字，手机上一屏能读完")
    start, end = _day(raw.get("valid_from"), where, "valid_from"), _day(raw.get("valid_until"), where, "valid_until")
    if start and end and end < start:
        raise NewsError(f"{where}：valid_until（截止日期）不能早于 valid_from（开始日期）")
    villages = raw.get("villages", [])
    if isinstance(villages, str):
        villages = [v for v in villages.replace("，", ",").split(",")]
    if not isinstance(villages, list) or not all(isinstance(v, str) for v in villages):
        raise NewsError(f"{where}：villages 应是村名列表，如 [\"城南村\", \"双虹村\"]")
    return NewsItem(title, body, str(raw.get("source", "")).strip(), start, end,
                    tuple(v.strip() for v in villages if v.strip()))


def _day(value: object, where: str, key: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise NewsError(f"{where}：{key} 应是日期，如 2026-12-01") from None


def read_file(path: Path) -> list[NewsItem]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise NewsError(f"{path.name}：请存为 UTF-8 编码") from None
    if path.suffix == ".toml":
        try:
            entries = tomllib.loads(text).get("items", [])
        except tomllib.TOMLDecodeError as exc:
            raise NewsError(f"{path.name}：TOML 格式错误（{exc}）") from None
        return [item(e, f"{path.name} 第 {i} 条") for i, e in enumerate(entries, 1)]
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                items.append(item(json.loads(line), f"{path.name} 第 {n} 行"))
            except json.JSONDecodeError:
                raise NewsError(f"{path.name} 第 {n} 行：不是有效的 JSON") from None
    return items


def add(db: Database, items: list[NewsItem], now: datetime) -> int:
    """Add items to the pool; returns how many were new."""
    before = db["news"].count
    db["news"].insert_all(({"key": it.key, "title": it.title, "body": it.body, "source": it.source,
                            "added_at": now.isoformat(),
                            "valid_from": it.valid_from.isoformat() if it.valid_from else None,
                            "valid_until": it.valid_until.isoformat() if it.valid_until else None,
                            "villages": json.dumps(list(it.villages), ensure_ascii=False) if it.villages else None}
                           for it in items), ignore=True)
    return db["news"].count - before


def load_dir(db: Database, now: datetime, directory: Path | None = None) -> int:
    items = [it for path in sorted((directory or NEWS_DIR).glob("*")) if path.suffix in (".toml", ".jsonl") for it in read_file(path)]
    return add(db, items, now)


# Not yet posted in this group, meant for it, and not past its end date (nor, for `next_for`, before its start).
_FOR = ("id NOT IN (SELECT news_id FROM news_posts WHERE village = :village) "
        "AND (valid_until IS NULL OR valid_until >= :day) "
        "AND (villages IS NULL OR EXISTS (SELECT 1 FROM json_each(news.villages) WHERE value = :village))")


def next_for(db: Database, village: str, day: date) -> dict | None:
    """The item this group gets today: valid today, the soonest-ending first, else the oldest."""
    return next(db["news"].rows_where(f"{_FOR} AND (valid_from IS NULL OR valid_from <= :day)",
                                      {"village": village, "day": day.isoformat()},
                                      order_by="valid_until IS NULL, valid_until, id", limit=1), None)


def remaining(db: Database, village: str, day: date) -> int:
    """Items this group has still to get, today or on a later day."""
    return db.execute(f"SELECT COUNT(*) FROM news WHERE {_FOR}", {"village": village, "day": day.isoformat()}
                      ).fetchone()[0]
