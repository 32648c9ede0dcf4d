"""Tools without a running service: classify, train, calendar, deadline."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Iterable, TextIO


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
    from bot.config import Rules
    from bot.routes import circumstances_of, decide
    clf, rules = load(), Rules()
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
        # Context fields on the line (speaker, channel, quoted) are weighed as the service would.
        stdout.write(json.dumps({"id": rec.get("id"), "label": verdict.label, "confidence": verdict.confidence,
                                 "route": decide(verdict, rules, circumstances_of(rec))},
                                ensure_ascii=False) + "\n")
        stdout.flush()  # a caller piping message by message must not wait for a buffer
    return 0


def train(args: argparse.Namespace) -> int:
    from bot import data
    return train_model(sys.stdout, Path(str(data())), stderr=sys.stderr)


def train_model(stdout: TextIO, data_dir: Path, out: Path | None = None, stderr: TextIO | None = None) -> int:
    """Rebuild model.json deterministically and print what it was trained on and how it reads strangers."""
    try:
        import sklearn  # noqa: F401  (the optional extra [train]; serving never needs it)
    except ImportError:
        (stderr or sys.stderr).write("训练需要 scikit-learn：pip install 'xiaowei[train]'\n")
        return 2
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
    stdout.write(f"阈值：举报 {th['report']}，闲聊 {th['chatter']}；列缩放幂 {meta['power']}，正则化 C={meta['C']}；特征数 {meta['features']}\n")
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
    """What `xiaowei calendar YEAR` prints: the year's days off, which of them the law fixes, and their source."""
    from bot.workdays import CC_SOURCE, official_years, statutory_holidays, statutory_law
    table = cal.table(year)
    statutory = statutory_holidays(year)
    if not table.known:
        return _unknown_year_lines(year, statutory, statutory_law(year), official_years())
    notice = cal.notice(year)
    name = _cc_name if table.source == CC_SOURCE else None
    law = statutory_law(year)
    off = f"放假（共 {len(table.holidays)} 天"
    if law:
        off += (f"，其中 {len(set(statutory) & set(table.holidays))} 天是{law}规定的法定节假日；"
                "其余是周末，或国务院通知安排的补休、调休）：")
    else:
        off += "）："
    lines = [f"{year} 年节假日安排", f"来源：{table.source}" + (f"（{notice}）" if notice else ""),
             off, *(_ranges(table.holidays, name, statutory if law else None) or ["  无"]),
             f"调休上班（共 {len(table.workdays)} 天）：", *(_ranges(table.workdays, name) or ["  无"])]
    # A statutory day the table makes a working day is almost surely a slip in a data file.
    holidays, workdays = set(table.holidays), set(table.workdays)
    slipped = {d: n for d, n in statutory.items()
               if d in workdays or (d.weekday() < 5 and d not in holidays)}
    if slipped:
        lines += ["注意：下列法定节假日在这份安排里是工作日，请核对通知原文：", *_ranges(slipped, slipped.get)]
    return lines


def _unknown_year_lines(year: int, statutory: dict[date, str], law: str | None,
                        official: tuple[int, int]) -> list[str]:
    first, last = official
    lines = [f"{year} 年没有官方节假日安排（chinesecalendar 只收录 {first}–{last} 年，也没有找到 {year}.toml 数据文件）。"]
    if law:
        lines += [f"目前按{law}规定的法定节假日和周末计算：",
                  f"法定节假日（共 {len(statutory)} 天）：", *_ranges(statutory, statutory.get),
                  "调休上班的周末、补休和为连休增加的放假日要等国务院办公厅公布安排才知道，现在都未计入，期限可能不准。"]
    else:
        lines.append(f"{year} 年适用的放假办法未收录，目前只按周末计算：周一至周五算工作日，期限可能不准。")
    lines.append(f"国务院办公厅公布安排后，请按 data/holidays/README.md 新建 data/holidays/{year}.toml 并重启小微；"
                 "此后这一年完全以该文件为准。")
    return lines


def _cc_name(day: date) -> str | None:
    from bot.workdays import holiday_name
    return holiday_name(day)


def _runs(days: Iterable[date], name: Callable[[date], str | None] | None = None) -> list[list[date]]:
    """Consecutive days, split also where `name` changes when one is given."""
    groups: list[list[date]] = []
    for d in sorted(days):
        if groups and d - groups[-1][-1] == timedelta(days=1) and (name is None or name(d) == name(groups[-1][-1])):
            groups[-1].append(d)
        else:
            groups.append([d])
    return groups


def _ranges(days: Iterable[date], name: Callable[[date], str | None] | None = None,
            statutory: dict[date, str] | None = None) -> list[str]:
    """One line per run of days: dates, names and length; with `statutory`, which of them the law fixes."""
    from bot.wording import WEEKDAYS
    lines = []
    for g in _runs(days):
        show = [f"{d.isoformat()} 周{WEEKDAYS[d.weekday()]}" for d in (g[0], g[-1])]
        text = show[0] if len(g) == 1 else f"{show[0]} 至 {show[1]}"
        notes = ["、".join(dict.fromkeys(n for n in map(name, g) if n))] if name else []
        notes = [n for n in notes + ([f"共 {len(g)} 天"] if len(g) > 1 else []) if n]
        line = f"  {text}" + (f"（{'，'.join(notes)}）" if notes else "")
        if statutory is not None:
            line += _statutory_note(g, statutory)
        lines.append(line)
    return lines


def _statutory_note(days: list[date], statutory: dict[date, str]) -> str:
    """"法定：02-16 至 02-19 春节" for the statutory days among `days`, or that none of them is."""
    runs = _runs((d for d in days if d in statutory), statutory.get)
    if not runs:
        return " 非法定，由国务院通知安排"
    parts = [(f"{g[0]:%m-%d}" if len(g) == 1 else f"{g[0]:%m-%d} 至 {g[-1]:%m-%d}") + f" {statutory[g[0]]}"
             for g in runs]
    return " 法定：" + "，".join(parts)


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
