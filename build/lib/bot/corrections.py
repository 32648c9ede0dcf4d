"""Cadres' re-labels (改类), exported as training lines for `xiaowei train`: data/corrections/YYYY-MM-DD.jsonl."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlite_utils import Database

from bot import data


def default_dir() -> Path:
    return Path(str(data("corrections")))


def export(db: Database, out_dir: Path, today: date) -> tuple[Path, int]:
    """Write every correction so far (latest label per case wins) to one dated file; re-running overwrites it."""
    latest: dict[int, dict] = {}
    for row in db.query("SELECT case_id, text, old_label, label, at FROM corrections ORDER BY id"):
        latest[row["case_id"]] = row
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{today.isoformat()}.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for row in latest.values():
            f.write(json.dumps({"text": row["text"], "label": row["label"], "was": row["old_label"],
                                "at": row["at"]}, ensure_ascii=False) + "\n")
    return path, len(latest)
