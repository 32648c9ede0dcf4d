"""The 正能量 pool the township fills: items added by command or from files in data/news/ (TOML or JSONL).

TOML:  [[items]]  title = "…"  body = "…"  source = "…"(可选)
JSONL: one {"title": "…", "body": "…", "source": "…"} per line.
An item is identified by its title and body, so loading the same file again adds nothing."""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
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
    return NewsItem(title, body, str(raw.get("source", "")).strip())


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
                            "added_at": now.isoformat()} for it in items), ignore=True)
    return db["news"].count - before


def load_dir(db: Database, now: datetime, directory: Path | None = None) -> int:
    items = [it for path in sorted((directory or NEWS_DIR).glob("*")) if path.suffix in (".toml", ".jsonl") for it in read_file(path)]
    return add(db, items, now)


def next_for(db: Database, village: str) -> dict | None:
    """The oldest item this group has never had."""
    return next(db["news"].rows_where("id NOT IN (SELECT news_id FROM news_posts WHERE village = ?)", [village],
                                      order_by="id", limit=1), None)


def remaining(db: Database, village: str) -> int:
    return db.execute("SELECT COUNT(*) FROM news WHERE id NOT IN (SELECT news_id FROM news_posts WHERE village = ?)",
                      [village]).fetchone()[0]
