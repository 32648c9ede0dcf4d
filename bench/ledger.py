"""Benchmark of the keyed ledger on the write path: a case opened with one follow-up event, each in its own
transaction on a real SQLite file (WAL, synchronous=FULL as the service runs), with an empty ledger and after
a long history; and the same writes with sealing switched off. Run by hand: python bench/ledger.py"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import cases, ledger  # noqa: E402
from bot.storage import connect  # noqa: E402

AT = datetime.fromisoformat("2026-12-01T09:00:00+08:00")


def one_case(db) -> None:
    with db.atomic():
        case = cases.open_case(db, message_id=None, town="翠江镇", village="城南村", kind="help", text="村口路灯坏了",
                               requester="resident-1", chat_id="chat", received_at=AT, due_at=AT, now=AT)
        cases.append(db, case.id, actor="cn-li", action="claimed", now=AT, state={"assignee": "cn-li"})


def timed(db, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        one_case(db)
        times.append((time.perf_counter() - start) * 1000)
    return times


def prefill(db, entries: int) -> None:
    """A long history: ledger entries (their rows are not needed to time the head lookup)."""
    with db.atomic():
        db.conn.executemany("INSERT INTO ledger (tbl, row_id, digest, prev_hash, hash) VALUES ('job_runs', ?, ?, ?, ?)",
                            ((-i, "d" * 64, "p" * 64, f"{i:064x}") for i in range(1, entries + 1)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=300, help="cases per run")
    parser.add_argument("--history", type=int, default=200_000, help="ledger entries before the long run")
    parser.add_argument("--no-fsync", action="store_true", help="synchronous=OFF: time the SQL work, not the disk")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        db = connect(Path(tmp) / "sealed.db", audit_key=b"k" * 32)
        plain = connect(Path(tmp) / "plain.db", audit_key=b"k" * 32)
        if args.no_fsync:
            for conn in (db, plain):
                conn.execute("PRAGMA synchronous = OFF")
        runs["sealed, empty ledger"] = timed(db, args.n)
        prefill(db, args.history)
        runs[f"sealed, {args.history:,} entries"] = timed(db, args.n)
        add, ledger.add = ledger.add, lambda *a, **k: None      # the same writes, nothing sealed
        try:
            runs["not sealed"] = timed(plain, args.n)
        finally:
            ledger.add = add
    for name, times in runs.items():
        print(f"{name:<28} median {statistics.median(times):6.2f} ms  p95 {sorted(times)[int(len(times) * .95)]:6.2f} ms"
              f"  per case (2 facts + 1 event row, one transaction)")


if __name__ == "__main__":
    main()
