"""Configuration: one TOML file read once into typed, frozen objects; secrets may come from the environment.

Any top-level scalar `[section] key` can be overridden by `XIAOWEI_SECTION_KEY`; any string value written
as "env:NAME" is read from the environment variable NAME (for per-village robot keys).
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Any, Iterator, Mapping


class ConfigError(ValueError):
    """A configuration problem, in words an IT officer can act on; names the file and the key."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: {key}: {problem}")


@dataclass(frozen=True)
class Person:
    userid: str
    name: str
    post: str = ""
    phone: str = ""

    @property
    def display(self) -> str:
        return f"{self.post}{self.name}" if self.post else self.name


@dataclass(frozen=True)
class Cadre(Person):
    secretary: bool = False


@dataclass(frozen=True)
class Village:
    name: str
    town: str
    chat_id: str
    webhook_key: str
    cadres: tuple[Cadre, ...]
    link_leader: Person | None = None
    mini_program_url: str = ""

    @property
    def secretary(self) -> Cadre | None:
        return next((c for c in self.cadres if c.secretary), None)

    def cadre(self, userid: str) -> Cadre | None:
        return next((c for c in self.cadres if c.userid == userid), None)


@dataclass(frozen=True)
class Town:
    name: str
    inspectors: tuple[Person, ...]
    villages: tuple[Village, ...]
    staff: tuple[Person, ...] = ()
    inspector_webhook_key: str = ""


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 8080


@dataclass(frozen=True)
class WeCom:
    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    api_base: str = "https://qyapi.weixin.qq.com"


@dataclass(frozen=True)
class AIBot:
    token: str = ""
    encoding_aes_key: str = ""
    name: str = "小微"


@dataclass(frozen=True)
class Bridge:
    secret: str = ""
    max_age_seconds: int = 300


@dataclass(frozen=True)
class Rules:
    close_time: time = time(23, 59, 59)
    confidence_threshold: float = 0.55
    work_start: time = time(8, 30)
    work_end: time = time(17, 30)
    unanswered_hours: int = 4
    holiday_dirs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Schedule:
    duty_notice: time = time(8, 0)
    news: time = time(9, 0)
    nags: time = time(9, 30)
    digest: time = time(8, 0)
    window_minutes: int = 120


@dataclass(frozen=True)
class Audit:
    key: str = ""                                   # empty: the key file beside the configuration (bot/ledger.py)
    anchor_file: Path = Path("var/xiaowei.anchors")   # relative to the configuration file


@dataclass(frozen=True)
class Config:
    path: Path
    server: Server
    storage_path: Path
    wecom: WeCom
    aibot: AIBot
    bridge: Bridge
    rules: Rules
    schedule: Schedule
    admins: tuple[str, ...]
    towns: tuple[Town, ...]
    audit: Audit = Audit()

    def villages(self) -> Iterator[Village]:
        for town in self.towns:
            yield from town.villages

    @cached_property
    def _index(self) -> tuple[dict[str, Village], dict[str, Village], dict[str, Town]]:
        # Looked up for every message and roster row: dictionaries, built once per configuration.
        villages = list(self.villages())
        return ({v.chat_id: v for v in villages}, {v.name: v for v in villages}, {t.name: t for t in self.towns})

    def village_by_chat(self, chat_id: str | None) -> Village | None:
        return self._index[0].get(chat_id or "")

    def village_by_name(self, name: str) -> Village | None:
        return self._index[1].get(name)

    def town(self, name: str) -> Town:
        return self._index[2][name]


ENV_PREFIX = "XIAOWEI_"
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


class _Reader:
    """Walks the parsed TOML, converting and checking values and naming the exact key on error."""

    def __init__(self, path: Path, env: Mapping[str, str]):
        self.path, self.env = path, env

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, key, problem)

    def value(self, table: Mapping[str, Any], key: str, where: str, kind: type, default: Any = ...) -> Any:
        full = f"{where}.{key}" if where else key
        section_env = f"{ENV_PREFIX}{where}_{key}".upper() if where and "." not in where and "[" not in where else None
        raw = self.env.get(section_env) if section_env and section_env in self.env else table.get(key, default)
        if raw is ...:
            raise self.fail(full, "缺少此项（必填）")
        if isinstance(raw, str) and raw.startswith("env:"):
            name = raw[4:]
            if name not in self.env:
                raise self.fail(full, f"要求从环境变量 {name} 读取，但该变量未设置")
            raw = self.env[name]
        return self.convert(raw, kind, full)

    def convert(self, raw: Any, kind: type, full: str) -> Any:
        if kind is time:
            match = _TIME.match(str(raw)) if not isinstance(raw, time) else None
            if isinstance(raw, time):
                return raw
            if not match:
                raise self.fail(full, f"时间格式应为 HH:MM，例如 08:00，实际是 {raw!r}")
            return time(int(match[1]), int(match[2]), int(match[3] or 0))
        if kind is int and isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            return int(raw)
        if kind is float and isinstance(raw, (int, str)) and not isinstance(raw, bool):
            try:
                return float(raw)
            except ValueError:
                pass
        if kind is bool and isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0"):
            return raw.lower() in ("true", "1")
        if not isinstance(raw, kind) or (kind is int and isinstance(raw, bool)):
            names = {str: "文字", int: "整数", float: "数字", bool: "true 或 false", list: "列表", dict: "表"}
            raise self.fail(full, f"应为{names.get(kind, kind.__name__)}，实际是 {raw!r}")
        return raw

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        return self.convert(data.get(key, {}), dict, key)

    def person(self, data: Any, where: str, cls: type = Person) -> Any:
        data = self.convert(data, dict, where)
        fields = dict(
            userid=self.value(data, "userid", where, str),
            name=self.value(data, "name", where, str),
            post=self.value(data, "post", where, str, ""),
            phone=str(data.get("phone", "")),
        )
        if cls is Cadre:
            fields["secretary"] = self.value(data, "secretary", where, bool, False)
        return cls(**fields)


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    env = os.environ if env is None else env
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "(文件)", "找不到配置文件") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(语法)", f"TOML 格式错误：{exc}") from None
    r = _Reader(path, env)

    s = r.table(raw, "server")
    server = Server(host=r.value(s, "host", "server", str, "127.0.0.1"), port=r.value(s, "port", "server", int, 8080))
    st = r.table(raw, "storage")
    storage_path = Path(r.value(st, "path", "storage", str, "var/xiaowei.db"))
    if not storage_path.is_absolute():
        storage_path = path.parent / storage_path

    w = r.table(raw, "wecom")
    wecom = WeCom(
        corp_id=r.value(w, "corp_id", "wecom", str, ""),
        agent_id=r.value(w, "agent_id", "wecom", int, 0),
        secret=r.value(w, "secret", "wecom", str, ""),
        token=r.value(w, "token", "wecom", str, ""),
        encoding_aes_key=r.value(w, "encoding_aes_key", "wecom", str, ""),
        api_base=r.value(w, "api_base", "wecom", str, WeCom.api_base).rstrip("/"),
    )
    a = r.table(raw, "aibot")
    aibot = AIBot(
        token=r.value(a, "token", "aibot", str, ""),
        encoding_aes_key=r.value(a, "encoding_aes_key", "aibot", str, ""),
        name=r.value(a, "name", "aibot", str, "小微"),
    )
    for where, key in (("wecom", wecom.encoding_aes_key), ("aibot", aibot.encoding_aes_key)):
        if key and len(key) != 43:
            raise r.fail(f"{where}.encoding_aes_key", f"应为 43 个字符（企业微信后台生成），实际 {len(key)} 个")
    b = r.table(raw, "bridge")
    bridge = Bridge(secret=r.value(b, "secret", "bridge", str, ""),
                    max_age_seconds=r.value(b, "max_age_seconds", "bridge", int, 300))

    ru = r.table(raw, "rules")
    threshold = r.value(ru, "confidence_threshold", "rules", float, Rules.confidence_threshold)
    if not 0 <= threshold <= 1:
        raise r.fail("rules.confidence_threshold", f"应在 0 到 1 之间，实际是 {threshold}")
    holiday_dirs = tuple(
        (p if p.is_absolute() else path.parent / p)
        for p in map(Path, r.value(ru, "holiday_dirs", "rules", list, []))
    )
    rules = Rules(
        close_time=r.value(ru, "close_time", "rules", time, Rules.close_time),
        confidence_threshold=threshold,
        work_start=r.value(ru, "work_start", "rules", time, Rules.work_start),
        work_end=r.value(ru, "work_end", "rules", time, Rules.work_end),
        unanswered_hours=r.value(ru, "unanswered_hours", "rules", int, Rules.unanswered_hours),
        holiday_dirs=holiday_dirs,
    )
    sc = r.table(raw, "schedule")
    schedule = Schedule(**{
        name: r.value(sc, name, "schedule", type(default), default)
        for name, default in vars(Schedule()).items()
    })
    au = r.table(raw, "audit")
    audit_key = r.value(au, "key", "audit", str, "")
    if audit_key and len(audit_key) < 16:
        raise r.fail("audit.key", "太短，至少 16 个字符；可用 python3 -c \"import secrets; print(secrets.token_hex(32))\" 生成")
    anchor_file = Path(r.value(au, "anchor_file", "audit", str, str(Audit.anchor_file)))
    audit = Audit(key=audit_key, anchor_file=anchor_file if anchor_file.is_absolute() else path.parent / anchor_file)
    ad = r.table(raw, "admin")
    admins = tuple(r.value(ad, "userids", "admin", list, []))

    towns = tuple(_town(r, t, f"towns[{i}]") for i, t in enumerate(r.convert(raw.get("towns", []), list, "towns")))
    if not towns:
        raise r.fail("towns", "至少要配置一个镇（[[towns]]）及其村（[[towns.villages]]）")
    by_chat: dict[str, Village] = {}
    names: set[str] = set()
    for ti, town in enumerate(towns):
        for vi, village in enumerate(town.villages):
            where = f"towns[{ti}].villages[{vi}]"
            if village.chat_id in by_chat:
                raise r.fail(f"{where}.chat_id", f"与 {by_chat[village.chat_id].name} 的群 ID 重复")
            if village.name in names:
                raise r.fail(f"{where}.name", f"村名 {village.name} 重复")
            by_chat[village.chat_id] = village
            names.add(village.name)
    return Config(path=path, server=server, storage_path=storage_path, wecom=wecom, aibot=aibot, bridge=bridge,
                  rules=rules, schedule=schedule, admins=admins, towns=towns, audit=audit)


def _town(r: _Reader, data: Any, where: str) -> Town:
    data = r.convert(data, dict, where)
    name = r.value(data, "name", where, str)
    inspectors = tuple(r.person(p, f"{where}.inspectors[{i}]")
                       for i, p in enumerate(r.value(data, "inspectors", where, list, [])))
    if not inspectors:
        raise r.fail(f"{where}.inspectors", "每个镇至少配置一名纪委巡查人员，举报只发给他们")
    staff = tuple(r.person(p, f"{where}.staff[{i}]") for i, p in enumerate(r.value(data, "staff", where, list, [])))
    villages = tuple(_village(r, v, name, f"{where}.villages[{i}]")
                     for i, v in enumerate(r.value(data, "villages", where, list, [])))
    if not villages:
        raise r.fail(f"{where}.villages", "这个镇还没有配置任何村")
    return Town(name=name, inspectors=inspectors, villages=villages, staff=staff,
                inspector_webhook_key=r.value(data, "inspector_webhook_key", where, str, ""))


def _village(r: _Reader, data: Any, town: str, where: str) -> Village:
    data = r.convert(data, dict, where)
    cadres = tuple(r.person(c, f"{where}.cadres[{i}]", Cadre)
                   for i, c in enumerate(r.value(data, "cadres", where, list, [])))
    if not cadres:
        raise r.fail(f"{where}.cadres", "每个村至少配置一名村干部")
    if sum(c.secretary for c in cadres) != 1:
        raise r.fail(f"{where}.cadres", "必须有且只有一名村干部标注 secretary = true（党支部书记）")
    leader = data.get("link_leader")
    return Village(
        name=r.value(data, "name", where, str),
        town=town,
        chat_id=r.value(data, "chat_id", where, str),
        webhook_key=r.value(data, "webhook_key", where, str),
        cadres=cadres,
        link_leader=r.person(leader, f"{where}.link_leader") if leader is not None else None,
        mini_program_url=r.value(data, "mini_program_url", where, str, ""),
    )
