"""Tools without a running service: classify, train, calendar, deadline."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, TextIO


def add_commands(add) -> None:
    p = add("classify", "判断消息类型；不带参数时从标准输入逐行读取 JSON", config=False)
    p.add_argument("texts", nargs="*", help="要判断的文字")
    p.set_defaults(run=classify)
    add("train", "用 data/ 下的训练语料和干部纠正重新生成模型 data/model.json", config=False).set_defaults(run=train)
    p = add("calendar", "查看某年的节假日和调休安排及其来源", config=None)
    p.add_argument("year", type=int, help="年份，如 2027")
    p.set_defaults(run=calendar)
    p = add("deadline", "计算办理期限：KIND 为 consult/help/suggestion/disclosure/escalation", config=None)
    p.add_argument("kind", help="诉求类型")
    p.add_argument("received_at", help="收到时间，ISO 8601，如 2026-09-30T10:00+08:00")
    p.set_defaults(run=deadline)


def classify(args: argparse.Namespace) -> int:
    return classify_texts(args.texts, sys.stdin, sys.stdout, sys.stderr)


def classify_texts(texts: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Labels for the given texts, or a JSON-lines filter over stdin when none are given."""
    from bot.classifier import load
    clf = load()
    if texts:
        for text in texts:
            stdout.write(clf.classify(text).label + "\n")
        stdout.flush()
        return 0
    for lineno, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = None
        if not isinstance(rec, dict):
            stderr.write(f"第{lineno}行不是有效的JSON，已跳过\n")
            stderr.flush()
            continue
        verdict = clf.classify(rec.get("text"))  # None/number/missing -> chatter, 1.0
        stdout.write(json.dumps({"id": rec.get("id"), "label": verdict.label, "confidence": verdict.confidence},
                                ensure_ascii=False) + "\n")
        stdout.flush()  # a caller piping message by message must not wait for a buffer
    return 0


def train(args: argparse.Namespace) -> int:
    from bot import data
    return train_model(sys.stdout, Path(str(data())))


def train_model(stdout: TextIO, data_dir: Path, out: Path | None = None) -> int:
    """Rebuild model.json deterministically and print what it was trained on and how it reads strangers."""
    from bot.classifier import LABELS, Classifier, _load_cached
    from bot.classifier_train import metrics, read_examples, save, train as fit, training_paths

    paths = training_paths(data_dir)
    if not paths:
        stdout.write(f"没有找到训练数据：{data_dir / 'training'}\n")
        return 1
    model = fit(paths)
    target = out or data_dir / "model.json"
    save(model, target)
    _load_cached.cache_clear()  # the next load() in this process must see the new model
    meta = model["meta"]
    stdout.write(f"训练文件：{len(paths)} 个，其中纠正样本 {meta['corrections']} 条（权重×3）\n")
    for label in LABELS:
        stdout.write(f"  {label:<11}{meta['counts'][label]:>6}\n")
    held = meta["heldout"]
    if held:
        stdout.write(f"交叉验证留出（5折，每条由没见过它的模型判定，共{held['n']}条）：{_figures(held)}\n")
    th = model["thresholds"]
    stdout.write(f"阈值：举报 {th['report']}，闲聊 {th['chatter']}；特征数 {meta['features']}\n")
    # Sets by writers who wrote no training text: a retrain that reads strangers worse shows here at once.
    classifier = Classifier(model)
    for path in sorted((data_dir / "validation").glob("*.jsonl")):
        pairs = [(LABELS.index(label), LABELS.index(classifier.classify(text).label))
                 for text, label, _ in read_examples([path])]
        stdout.write(f"新写作者验证集 {path.stem}（{len(pairs)}条）：{_figures(metrics(pairs))}\n")
    stdout.write(f"模型已写入 {target}\n")
    stdout.flush()
    return 0


def _figures(m: dict) -> str:
    return (f"准确率 {m['accuracy']:.3f}，宏F1 {m['macro_f1']:.3f}，举报召回 {m['report_recall']:.3f}，"
            f"诉求召回 {m['request_recall']:.3f}，闲聊误回复率 {m['false_reply_rate']:.3f}")


def calendar(args: argparse.Namespace) -> int:
    from bot.cli.common import calendar as load_calendar
    from bot.workdays import HolidayDataError
    try:
        cal = load_calendar(args)
    except HolidayDataError as exc:
        print(f"错误：{exc}")
        return 1
    for line in year_lines(cal, args.year):
        print(line)
    return 0


def year_lines(cal, year: int) -> list[str]:
    from bot.workdays import CC_SOURCE, official_years
    table = cal.table(year)
    if not table.known:
        first, last = official_years()
        return [f"{year} 年没有官方节假日安排（chinesecalendar 只收录 {first}–{last} 年，也没有找到 {year}.toml 数据文件）。",
                "目前按周末计算：周一至周五算工作日，不计法定节假日和调休，期限可能不准。",
                f"国务院办公厅公布安排后，请按 data/holidays/README.md 新建 data/holidays/{year}.toml 并重启小微。"]
    notice = cal.notice(year)
    named = table.source == CC_SOURCE
    return [f"{year} 年节假日安排", f"来源：{table.source}" + (f"（{notice}）" if notice else ""),
            f"法定节假日（共 {len(table.holidays)} 天）：", *(_ranges(table.holidays, named) or ["  无"]),
            f"调休上班（共 {len(table.workdays)} 天）：", *(_ranges(table.workdays, named) or ["  无"])]


def _ranges(days: Iterable[date], named: bool) -> list[str]:
    from bot.wording import WEEKDAYS
    from bot.workdays import holiday_name
    groups: list[list[date]] = []
    for d in sorted(days):
        if groups and d - groups[-1][-1] == timedelta(days=1):
            groups[-1].append(d)
        else:
            groups.append([d])
    lines = []
    for g in groups:
        show = [f"{d.isoformat()} 周{WEEKDAYS[d.weekday()]}" for d in (g[0], g[-1])]
        text = show[0] if len(g) == 1 else f"{show[0]} 至 {show[1]}"
        notes = ["、".join(dict.fromkeys(n for n in map(holiday_name, g) if n))] if named else []
        notes = [n for n in notes + ([f"共 {len(g)} 天"] if len(g) > 1 else []) if n]
        lines.append(f"  {text}" + (f"（{'，'.join(notes)}）" if notes else ""))
    return lines


def deadline(args: argparse.Namespace) -> int:
    from bot.cli.common import calendar as load_calendar, config
    from bot.workdays import HolidayDataError
    try:
        cal = load_calendar(args)
    except HolidayDataError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 1
    close = config(args).rules.close_time if args.config else None
    return print_deadline(args.kind, args.received_at, sys.stdout, sys.stderr, cal, close)


def print_deadline(kind: str, received_at: str, out: TextIO, err: TextIO, cal, close=None) -> int:
    """One JSON object on stdout; wrong input: one line on stderr and exit code 2."""
    from bot.clock import local
    from bot.workdays import LIMITS
    if kind not in LIMITS:
        print(f"错误：未知类型 {kind}，可选 {', '.join(LIMITS)}", file=err)
        return 2
    try:
        received = local(received_at)
    except ValueError:
        print(f"错误：无法识别时间 {received_at}，请用 ISO 8601 格式，如 2026-09-30T10:00 或 "
              "2026-09-30T10:00+08:00", file=err)
        return 2
    due = cal.due_at(kind, received, close) if close else cal.due_at(kind, received)
    print(json.dumps({"kind": kind, "received_at": received.isoformat(), "due_at": due.isoformat()},
                     ensure_ascii=False), file=out)
    return 0
