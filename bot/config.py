"""Configuration: one TOML file read once into typed, frozen objects; secrets may come from the environment.

Any top-level scalar `[section] key` can be overridden by `XIAOWEI_SECTION_KEY`; any string value written
as "env:NAME" is read from the environment variable NAME (for per-village robot keys). Unknown sections and keys
are refused, since a typo would otherwise silently keep the default; sample values still in place are warnings.
"""
from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from bot import data
from bot.errors import ConfigError
from bot.power_list import PowerList, parse as parse_power_items, read as read_power_list

GROUP_KINDS = ("internal", "customer", "bridge")


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
    # What the village's group is, which decides how the bot hears and speaks there (README, "Group kinds"):
    # internal — a WeCom internal group (AI bot + robot); customer — a customer group (客户群) of residents on
    # personal WeChat (chat archive in; owner-confirmed group sends and cadre-pasted drafts out); bridge — a plain
    # WeChat group reached through the county's gateway.
    group: str = "internal"
    owner: str = ""          # a customer group's owner (the cadre who confirms group sends); default: secretary
    roomid: str = ""         # the chat archive's id of the group; empty: the same as chat_id
    kf_link: str = ""        # the village's 微信客服 link (kf/add_contact_way, scene_param = the village's name)

    @property
    def group_owner(self) -> str:
        return self.owner or (self.secretary.userid if self.secretary else "")

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
class Department:
    """A county department a case can be handed to (交办), and who there receives it."""
    name: str
    contacts: tuple[Person, ...]


@dataclass(frozen=True)
class County:
    """The county discipline commission (县纪委监委): it takes what a town passes up, hands it to a department and
    supervises it; its members may act on the clues of every town."""
    name: str = ""
    commission: tuple[Person, ...] = ()
    departments: tuple[Department, ...] = ()

    def department(self, name: str) -> Department | None:
        return next((d for d in self.departments if d.name == name), None)


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 8080
    clock_skew_seconds: int = 600      # how far a callback's timestamp may be from our clock
    read_timeout_seconds: int = 10     # how long a callback's body may take to arrive


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
    push_url: str = ""       # where group posts for bridge villages are POSTed; empty: the gateway pulls them


@dataclass(frozen=True)
class Rules:
    close_time: time = time(23, 59, 59)
    confidence_threshold: float = 0.55
    work_start: time = time(8, 30)
    work_end: time = time(17, 30)
    unanswered_hours: int = 4
    # A customer group's draft answer not seen posted in the group within this many working hours (work_start to
    # work_end on working days) is pressed on the duty cadre, then up the ladder, one rung per such span.
    draft_post_hours: int = 4
    holiday_dirs: tuple[Path, ...] = ()
    # A report's share of the reading at which an unsure message still goes to the inspectors, as 疑似线索 to
    # triage: a missed report is the worst error there is.
    triage_threshold: float = 0.08
    # Overheard talk (a bridge, the chat archive) was not said to the bot: a case opens only above this reading;
    # below it the duty cadre is asked to confirm (疑似诉求).
    overheard_threshold: float = 0.7


@dataclass(frozen=True)
class Schedule:
    duty_notice: time = time(8, 0)
    news: time = time(9, 0)
    nags: time = time(9, 30)
    digest: time = time(8, 0)
    group_send: time = time(9, 10)        # customer groups: the morning's posts as one owner-confirmed group send
    group_send_check: time = time(10, 30)  # …not yet confirmed by then: the owner is reminded
    identity: time = time(7, 30)          # customer groups: 亮明身份 (cadres in the group, nicknames, owner)
    customer_stats: time = time(7, 40)    # customer groups: yesterday's WeCom statistics and group sends, for the digest
    publicity: time = time(9, 40)         # 公开提醒: power list items due soon or late
    window_minutes: int = 120


@dataclass(frozen=True)
class Audit:
    key: str = ""                                   # empty: the key file beside the configuration (bot/ledger.py)
    anchor_file: Path = Path("var/xiaowei.anchors")   # relative to the configuration file


@dataclass(frozen=True)
class Archive:
    library: str = ""                                 # the corp's libWeWorkFinanceSdk_C.so; empty: no archive reader
    secret: str = ""                                  # 会话内容存档 Secret
    private_keys: tuple[tuple[int, Path], ...] = ()   # (publickey_ver, PEM file): every version ever used
    poll_seconds: int = 60
    stall_minutes: int = 120


@dataclass(frozen=True)
class Kf:
    open_kfid: str = ""      # the county's 微信客服 account (通过API管理); empty: no kf
    scene: str = "village"   # the scene its per-village links are made with (kf/add_contact_way)


@dataclass(frozen=True)
class Desk:
    """The inspectors' web desk under /desk (README, "The desk"). Empty secret: no desk."""
    secret: str = ""              # signs sign-in links and session cookies (keys derived by HKDF)
    base_url: str = ""            # the public https address WeCom's browser reaches, e.g. https://xiaowei.example.gov.cn
    link_minutes: int = 15        # how long a sign-in link the bot sends stays valid
    session_hours: int = 8        # how long a signed-in browser stays signed in
    oauth_base: str = "https://open.weixin.qq.com"   # WeCom's web OAuth (a stand-in's address for staging)


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
    warnings: tuple[str, ...] = ()     # not wrong but not ready (sample values left in); check-config shows them
    # Robot of the IT officers' own group: every admin alert goes there too, so that an outage of the app
    # channel (or a wrong admin userid) does not swallow it.
    admin_webhook_key: str = ""
    audit: Audit = Audit()
    archive: Archive = Archive()
    kf: Kf = Kf()
    desk: Desk = Desk()
    power_list: PowerList = PowerList(())   # load_config always fills it: the shipped list, or the county's
    county: County = County()

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

    @cached_property
    def _rooms(self) -> dict[str, Village]:
        return {v.roomid or v.chat_id: v for v in self.villages()}

    def village_by_room(self, roomid: str) -> Village | None:
        """The village whose group the chat archive calls `roomid`."""
        return self._rooms.get(roomid)

    def village_by_name(self, name: str) -> Village | None:
        return self._index[1].get(name)

    def town(self, name: str) -> Town:
        return self._index[2][name]


ENV_PREFIX = "XIAOWEI_"
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _keys(cls: type, *without: str) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls)) - set(without)


# The keys load_config reads, level by level; anything else is a typo or a key from another version.
_SECTION_KEYS = {
    "server": _keys(Server), "storage": frozenset({"path"}), "wecom": _keys(WeCom), "aibot": _keys(AIBot),
    "bridge": _keys(Bridge), "admin": frozenset({"userids", "webhook_key"}), "rules": _keys(Rules), "schedule": _keys(Schedule),
    "audit": _keys(Audit), "archive": _keys(Archive), "kf": _keys(Kf), "desk": _keys(Desk),
    "power_list": frozenset({"file", "items", "start"}),
}
_TOP_KEYS = frozenset(_SECTION_KEYS) | {"towns", "county"}
_COUNTY_KEYS, _DEPARTMENT_KEYS = _keys(County), _keys(Department)
_TOWN_KEYS, _VILLAGE_KEYS = _keys(Town), _keys(Village, "town")
_PERSON_KEYS, _CADRE_KEYS = _keys(Person), _keys(Cadre)

# Values from config.example.toml and the usual stand-ins: fine for a trial run, never for a live corp.
_SAMPLES = {"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"}
_PLACEHOLDER = re.compile(r"(change[-_]?me.*|your[-_].*|x+|ww0+|robot-key-.*|todo|fixme|<.*>)", re.IGNORECASE)


def _is_placeholder(value: str) -> bool:
    return value in _SAMPLES or bool(_PLACEHOLDER.fullmatch(value.strip()))


def _suggest(key: str, known: frozenset[str]) -> str:
    guess = difflib.get_close_matches(key, sorted(known), n=1)
    return f"您是不是要写 {guess[0]}？" if guess else "可以写的有：" + "、".join(sorted(known))


def _named(data: Mapping[str, Any], fallback: str, prefix: str = "") -> str:
    """How errors name a town or village: by its name when it has a usable one, else by its position."""
    name = data.get("name")
    usable = isinstance(name, str) and name.strip() and not name.startswith("env:")
    return f"{prefix}{name}" if usable else fallback


class _Reader:
    """Walks the parsed TOML, converting and checking values and naming the exact key on error."""

    def __init__(self, path: Path, env: Mapping[str, str]):
        self.path, self.env = path, env
        self.warnings: list[str] = []

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.path, key, problem)

    def warn(self, key: str, problem: str) -> None:
        self.warnings.append(f"{key}: {problem}")

    def known(self, table: Mapping[str, Any], where: str, keys: frozenset[str]) -> None:
        for key in table:
            if key not in keys:
                raise self.fail(f"{where}.{key}", f"未知的配置项；{_suggest(key, keys)}")

    def value(self, table: Mapping[str, Any], key: str, where: str, kind: type, default: Any = ..., *,
              env: str | None = None, secret: bool = False, minimum: float | None = None,
              maximum: float | None = None) -> Any:
        full = f"{where}.{key}" if where else key
        raw = self.env[env] if env and env in self.env else table.get(key, default)
        if raw is ...:
            raise self.fail(full, "缺少此项（必填）")
        if isinstance(raw, str) and raw.startswith("env:"):
            name = raw[4:]
            if name not in self.env:
                raise self.fail(full, f"要求从环境变量 {name} 读取，但该变量未设置")
            raw = self.env[name]
        value = self.convert(raw, kind, full)
        if default is ... and kind is str and not value.strip():
            raise self.fail(full, "不能为空")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            wanted = (f"应在 {minimum} 到 {maximum} 之间" if maximum is not None
                      else "应为正整数" if minimum == 1 else f"应不小于 {minimum}")
            raise self.fail(full, f"{wanted}，实际是 {value}")
        if secret and value and _is_placeholder(value):
            shown = value if len(value) <= 20 else f"{value[:8]}…"
            self.warn(full, f"还是占位值 {shown}，正式使用前请换成真实值")
        return value

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

    def section(self, raw: Mapping[str, Any], name: str) -> Callable[..., Any]:
        """A reader for one top-level [section], whose keys may be overridden by XIAOWEI_SECTION_KEY."""
        table = self.convert(raw.get(name, {}), dict, name)
        self.known(table, name, _SECTION_KEYS[name])

        def get(key: str, kind: type, default: Any = ..., **checks: Any) -> Any:
            return self.value(table, key, name, kind, default, env=f"{ENV_PREFIX}{name}_{key}".upper(), **checks)
        return get

    def person(self, data: Any, where: str, cls: type = Person) -> Any:
        data = self.convert(data, dict, where)
        if cls is Person and "secretary" in data:
            raise self.fail(f"{where}.secretary", "只有村干部（cadres）才标注 secretary（党支部书记）")
        self.known(data, where, _CADRE_KEYS if cls is Cadre else _PERSON_KEYS)
        values = dict(
            userid=self.value(data, "userid", where, str),
            name=self.value(data, "name", where, str),
            post=self.value(data, "post", where, str, ""),
            phone=str(data.get("phone", "")),
        )
        if cls is Cadre:
            values["secretary"] = self.value(data, "secretary", where, bool, False)
        return cls(**values)

    def people(self, data: Mapping[str, Any], key: str, where: str, cls: type = Person) -> tuple[Any, ...]:
        """A list of people, each userid at most once (a repeat would get every message twice, or hide a typo)."""
        people = tuple(self.person(p, f"{where}.{key}[{i}]", cls)
                       for i, p in enumerate(self.value(data, key, where, list, [])))
        first: dict[str, int] = {}
        for i, p in enumerate(people):
            if p.userid in first:
                raise self.fail(f"{where}.{key}[{i}].userid", f"{p.userid} 与 {key}[{first[p.userid]}] 的 userid 重复")
            first[p.userid] = i
        return people


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
    _refuse_unknown_sections(r, raw)

    get = r.section(raw, "server")
    server = Server(host=get("host", str, Server.host), port=get("port", int, Server.port, minimum=1, maximum=65535),
                    clock_skew_seconds=get("clock_skew_seconds", int, Server.clock_skew_seconds, minimum=1),
                    read_timeout_seconds=get("read_timeout_seconds", int, Server.read_timeout_seconds, minimum=1))
    get = r.section(raw, "storage")
    storage_path = Path(get("path", str, "var/xiaowei.db"))
    if not storage_path.is_absolute():
        storage_path = path.parent / storage_path

    get = r.section(raw, "wecom")
    wecom = WeCom(
        corp_id=get("corp_id", str, "", secret=True),
        agent_id=get("agent_id", int, 0),
        secret=get("secret", str, "", secret=True),
        token=get("token", str, "", secret=True),
        encoding_aes_key=get("encoding_aes_key", str, "", secret=True),
        api_base=get("api_base", str, WeCom.api_base).rstrip("/"),
    )
    get = r.section(raw, "aibot")
    aibot = AIBot(
        token=get("token", str, "", secret=True),
        encoding_aes_key=get("encoding_aes_key", str, "", secret=True),
        name=get("name", str, "小微"),
    )
    _check_channels(r, wecom, aibot)
    get = r.section(raw, "bridge")
    bridge = Bridge(secret=get("secret", str, "", secret=True),
                    max_age_seconds=get("max_age_seconds", int, Bridge.max_age_seconds, minimum=1),
                    push_url=get("push_url", str, ""))

    get = r.section(raw, "rules")
    holiday_dirs = tuple(
        (p if p.is_absolute() else path.parent / p)
        for p in (Path(r.convert(d, str, f"rules.holiday_dirs[{i}]"))
                  for i, d in enumerate(get("holiday_dirs", list, [])))
    )
    rules = Rules(
        close_time=get("close_time", time, Rules.close_time),
        confidence_threshold=get("confidence_threshold", float, Rules.confidence_threshold, minimum=0, maximum=1),
        work_start=get("work_start", time, Rules.work_start),
        work_end=get("work_end", time, Rules.work_end),
        unanswered_hours=get("unanswered_hours", int, Rules.unanswered_hours, minimum=1),
        draft_post_hours=get("draft_post_hours", int, Rules.draft_post_hours, minimum=1),
        holiday_dirs=holiday_dirs,
        triage_threshold=get("triage_threshold", float, Rules.triage_threshold, minimum=0, maximum=1),
        overheard_threshold=get("overheard_threshold", float, Rules.overheard_threshold, minimum=0, maximum=1),
    )
    if rules.work_start >= rules.work_end:
        raise r.fail("rules.work_end", f"应晚于 work_start（{rules.work_start:%H:%M}），实际是 {rules.work_end:%H:%M}")
    get = r.section(raw, "schedule")
    schedule = Schedule(**{   # the times, and window_minutes, the only number
        name: get(name, type(default), default, minimum=1 if isinstance(default, int) else None)
        for name, default in vars(Schedule()).items()
    })
    get = r.section(raw, "audit")
    audit_key = get("key", str, "", secret=True)
    if audit_key and len(audit_key) < 16:
        raise r.fail("audit.key", "太短，至少 16 个字符；可用 python3 -c \"import secrets; print(secrets.token_hex(32))\" 生成")
    anchor_file = Path(get("anchor_file", str, str(Audit.anchor_file)))
    audit = Audit(key=audit_key, anchor_file=anchor_file if anchor_file.is_absolute() else path.parent / anchor_file)
    archive = _archive(r, r.section(raw, "archive"), path.parent)
    get = r.section(raw, "kf")
    kf = Kf(open_kfid=get("open_kfid", str, ""), scene=get("scene", str, Kf.scene))
    if not re.fullmatch(r"[0-9A-Za-z_-]{1,32}", kf.scene):
        raise r.fail("kf.scene", f"只能是 1 到 32 个字母、数字、下划线或减号（微信客服的要求），实际是 {kf.scene!r}")
    if kf.open_kfid and not (wecom.secret and wecom.encoding_aes_key):
        raise r.fail("kf.open_kfid", "设置了微信客服账号时，wecom.secret 和 wecom 的接收消息（token、encoding_aes_key）"
                                     "都要配置：客服消息的通知从自建应用的回调进来，再用应用的 Secret 拉取和回复")
    desk = _desk(r, r.section(raw, "desk"))
    power_list = _power_list(r, r.section(raw, "power_list"), path.parent)
    get = r.section(raw, "admin")
    admins = tuple(r.convert(u, str, f"admin.userids[{i}]") for i, u in enumerate(get("userids", list, [])))
    admin_webhook_key = get("webhook_key", str, "", secret=True)

    towns = tuple(_town(r, t, i) for i, t in enumerate(r.convert(raw.get("towns", []), list, "towns")))
    if not towns:
        raise r.fail("towns", "至少要配置一个镇（[[towns]]）及其村（[[towns.villages]]）")
    _check_across(r, towns)
    county = _county(r, raw.get("county", {}), towns)
    return Config(path=path, server=server, storage_path=storage_path, wecom=wecom, aibot=aibot, bridge=bridge,
                  rules=rules, schedule=schedule, admins=admins, towns=towns, warnings=tuple(r.warnings),
                  admin_webhook_key=admin_webhook_key, audit=audit, archive=archive, kf=kf, desk=desk,
                  power_list=power_list, county=county)


def _refuse_unknown_sections(r: _Reader, raw: Mapping[str, Any]) -> None:
    for key, value in raw.items():
        if key in _TOP_KEYS:
            continue
        if isinstance(value, (dict, list)):
            raise r.fail(key, f"未知的配置节；{_suggest(key, _TOP_KEYS)}")
        # A bare key above every [section] header, or one whose header was mistyped away.
        home = [name for name, keys in _SECTION_KEYS.items() if key in keys]
        raise r.fail(key, f"这一项应写在 [{home[0]}] 下面" if home else f"未知的配置项；{_suggest(key, _TOP_KEYS)}")


def _check_channels(r: _Reader, wecom: WeCom, aibot: AIBot) -> None:
    """Each way in or out needs all of its parts; half a channel fails only when WeCom first calls."""
    for where, token, key in (("wecom", wecom.token, wecom.encoding_aes_key),
                              ("aibot", aibot.token, aibot.encoding_aes_key)):
        if key and len(key) != 43:
            raise r.fail(f"{where}.encoding_aes_key", f"应为 43 个字符（企业微信后台生成），实际 {len(key)} 个")
        try:
            base64.b64decode(key + "=", validate=True) if key else None
        except (binascii.Error, ValueError):
            raise r.fail(f"{where}.encoding_aes_key", "含有 EncodingAESKey 里不该有的字符（应只有字母和数字）") from None
        if key and not token:
            raise r.fail(f"{where}.token", "设置了 encoding_aes_key，就要同时填写接收消息的 Token")
        if token and not key:
            raise r.fail(f"{where}.encoding_aes_key", "设置了 token，就要同时填写接收消息的 EncodingAESKey")
    if not wecom.corp_id and wecom.encoding_aes_key:
        raise r.fail("wecom.corp_id", "设置了 wecom.encoding_aes_key 时必填：自建应用的回调要用企业ID 核对收件方")
    if not wecom.corp_id and wecom.secret:
        raise r.fail("wecom.corp_id", "设置了 wecom.secret 时必填：调用企业微信接口取 access_token 要用企业ID")
    if wecom.secret and wecom.agent_id <= 0:
        raise r.fail("wecom.agent_id", "设置了 wecom.secret 时必填：发应用消息要用自建应用的 AgentId")


def _archive(r: _Reader, get: Callable[..., Any], home: Path) -> Archive:
    keys = []
    for ver, pem in get("private_keys", dict, {}).items():
        if not ver.isdigit():
            raise r.fail(f"archive.private_keys.{ver}", "键应为私钥版本号（publickey_ver，整数），例如 1 = \"keys/v1.pem\"")
        keys.append((int(ver), home / Path(r.convert(pem, str, f"archive.private_keys.{ver}"))))
    archive = Archive(library=get("library", str, ""), secret=get("secret", str, "", secret=True),
                      private_keys=tuple(sorted(keys)),
                      poll_seconds=get("poll_seconds", int, Archive.poll_seconds, minimum=1),
                      stall_minutes=get("stall_minutes", int, Archive.stall_minutes, minimum=1))
    if archive.library and not (archive.secret and archive.private_keys):
        raise r.fail("archive.secret" if not archive.secret else "archive.private_keys",
                     "设置了 archive.library 时必填：会话存档要用存档 Secret 和至少一个版本的私钥")
    return replace(archive, library=str(home / archive.library)) if archive.library else archive


def _desk(r: _Reader, get: Callable[..., Any]) -> Desk:
    desk = Desk(secret=get("secret", str, "", secret=True), base_url=get("base_url", str, "").rstrip("/"),
                link_minutes=get("link_minutes", int, Desk.link_minutes, minimum=1, maximum=24 * 60),
                session_hours=get("session_hours", int, Desk.session_hours, minimum=1, maximum=24 * 30),
                oauth_base=get("oauth_base", str, Desk.oauth_base).rstrip("/"))
    if desk.secret and len(desk.secret) < 16:
        raise r.fail("desk.secret", "太短，至少 16 个字符；可用 python3 -c \"import secrets; print(secrets.token_hex(32))\" 生成")
    for key, value in (("base_url", desk.base_url), ("oauth_base", desk.oauth_base)):
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise r.fail(f"desk.{key}", f"应为以 https:// 开头的网址，实际是 {value!r}")
    if desk.secret and not desk.base_url:
        r.warn("desk.base_url", "没有填写：工作台能用企业微信登录，但小微发不出登录链接（私聊“工作台”）")
    return desk


def shipped_power_list() -> Path:
    return Path(str(data("power_list.toml")))


def _power_list(r: _Reader, get: Callable[..., Any], home: Path) -> PowerList:
    """The shipped sample list, or the county's own file (`file`); `items` then add items or override them by
    name. A problem inside the county's file names that file and the item's key."""
    file = get("file", str, "")
    source = (home / file) if file else shipped_power_list()
    base = read_power_list(source)
    items = parse_power_items(get("items", list, []), r.path, "power_list.items", base=base.items)
    if not items:
        raise r.fail("power_list", "小微权力清单里没有任何事项")
    start = get("start", object, "")      # a TOML date, or text from XIAOWEI_POWER_LIST_START
    if start and not isinstance(start, date):
        try:
            start = date.fromisoformat(str(start))
        except ValueError:
            raise r.fail("power_list.start", f"日期格式应为 YYYY-MM-DD，例如 2026-12-01，实际是 {start!r}") from None
    if not start and any(item.scheduled for item in items):
        r.warn("power_list.start", "未设置：上线前结束的各期也算应公开，会当作逾期提醒；请填上线日期，例如 2026-12-01")
    return PowerList(items, source=str(source), start=start or None)


def _town(r: _Reader, data: Any, index: int) -> Town:
    data = r.convert(data, dict, f"towns[{index}]")
    where = _named(data, f"towns[{index}]")
    r.known(data, where, _TOWN_KEYS)
    name = r.value(data, "name", where, str)
    inspectors = r.people(data, "inspectors", where)
    if not inspectors:
        raise r.fail(f"{where}.inspectors", "每个镇至少配置一名纪委巡查人员，举报只发给他们")
    staff = r.people(data, "staff", where)
    villages = tuple(_village(r, v, name, i) for i, v in enumerate(r.value(data, "villages", where, list, [])))
    if not villages:
        raise r.fail(f"{where}.villages", "这个镇还没有配置任何村")
    return Town(name=name, inspectors=inspectors, villages=villages, staff=staff,
                inspector_webhook_key=r.value(data, "inspector_webhook_key", where, str, "", secret=True))


def _county(r: _Reader, data: Any, towns: tuple[Town, ...]) -> County:
    data = r.convert(data, dict, "county")
    r.known(data, "county", _COUNTY_KEYS)
    commission = r.people(data, "commission", "county")
    departments = []
    for i, d in enumerate(r.value(data, "departments", "county", list, [])):
        where = f"county.departments[{i}]"
        d = r.convert(d, dict, where)
        r.known(d, where, _DEPARTMENT_KEYS)
        name = r.value(d, "name", where, str)
        if any(x.name == name for x in departments):
            raise r.fail(f"{where}.name", f"部门 {name} 重复")
        departments.append(Department(name=name, contacts=r.people(d, "contacts", where)))
    if departments and not commission:
        raise r.fail("county.commission", "配置了可交办的部门，就要配置县纪委监委的人员：交办和督办由他们发起")
    cadres = {c.userid: f"{t.name}·{v.name}" for t in towns for v in t.villages for c in v.cadres}
    for i, p in enumerate(commission):
        if p.userid in cadres:
            raise r.fail(f"county.commission[{i}].userid", f"{p.userid} 同时是{cadres[p.userid]}的村干部，"
                                                           "举报他的线索会发到他本人手上；请只保留一个身份")
    return County(name=r.value(data, "name", "county", str, ""), commission=commission,
                  departments=tuple(departments))


def _village(r: _Reader, data: Any, town: str, index: int) -> Village:
    data = r.convert(data, dict, f"{town}.villages[{index}]")
    where = _named(data, f"{town}.villages[{index}]", f"{town}·")
    r.known(data, where, _VILLAGE_KEYS)
    name = r.value(data, "name", where, str)
    cadres = r.people(data, "cadres", where, Cadre)
    if not cadres:
        raise r.fail(f"{where}.cadres", "每个村至少配置一名村干部")
    if sum(c.secretary for c in cadres) != 1:
        raise r.fail(f"{where}.cadres", "必须有且只有一名村干部标注 secretary = true（党支部书记）")
    leader = data.get("link_leader")
    group = r.value(data, "group", where, str, "internal")
    if group not in GROUP_KINDS:
        raise r.fail(f"{where}.group", f"应为 {'、'.join(GROUP_KINDS)} 之一，实际是 {group!r}")
    owner = r.value(data, "owner", where, str, "")
    if owner and not any(c.userid == owner for c in cadres):
        raise r.fail(f"{where}.owner", f"群主 {owner} 应是本村干部之一（cadres）")
    return Village(
        name=name,
        town=town,
        chat_id=r.value(data, "chat_id", where, str),
        webhook_key=r.value(data, "webhook_key", where, str, "" if group != "internal" else ..., secret=True),
        cadres=cadres,
        link_leader=r.person(leader, f"{where}.link_leader") if leader is not None else None,
        mini_program_url=r.value(data, "mini_program_url", where, str, ""),
        group=group,
        owner=owner,
        roomid=r.value(data, "roomid", where, str, ""),
        kf_link=_kf_link(r, r.value(data, "kf_link", where, str, ""), f"{where}.kf_link"),
    )


def _kf_link(r: _Reader, link: str, key: str) -> str:
    if link and not link.startswith("https://"):
        raise r.fail(key, "应为 kf/add_contact_way 返回的 https:// 链接（xiaowei kf-links 可以生成）")
    return link


def _check_across(r: _Reader, towns: tuple[Town, ...]) -> None:
    """What no single town or village shows: repeats across them, and reports reaching the people reported."""
    inspector_at = {p.userid: f"{t.name}.inspectors[{i}]" for t in towns for i, p in enumerate(t.inspectors)}
    town_names: set[str] = set()
    village_at: dict[str, str] = {}
    chat_at: dict[str, str] = {}
    robot_at: dict[str, str] = {}
    for ti, town in enumerate(towns):
        if town.name in town_names:
            raise r.fail(f"towns[{ti}].name", f"镇名 {town.name} 重复")
        town_names.add(town.name)
        for vi, village in enumerate(town.villages):
            where = f"{town.name}·{village.name}"
            if village.name in village_at:
                raise r.fail(f"{town.name}.villages[{vi}].name", f"村名 {village.name} 与 {village_at[village.name]} 重复")
            if village.chat_id in chat_at:
                raise r.fail(f"{where}.chat_id", f"与 {chat_at[village.chat_id]} 的群 ID 重复")
            if village.roomid and village.roomid in chat_at:
                raise r.fail(f"{where}.roomid", f"与 {chat_at[village.roomid]} 的群 ID 重复")
            village_at[village.name] = chat_at[village.chat_id] = where
            chat_at.setdefault(village.roomid or village.chat_id, where)
            if village.webhook_key:
                robot_at[village.webhook_key] = where
            roles = [(f"{where}.cadres[{i}]", c) for i, c in enumerate(village.cadres)]
            if village.link_leader:
                roles.append((f"{where}.link_leader", village.link_leader))
            for key, person in roles:
                if person.userid in inspector_at:
                    raise r.fail(f"{key}.userid", f"{person.userid} 同时是纪委巡查人员（{inspector_at[person.userid]}），"
                                                  "举报他的线索会发到他本人手上；请只保留一个身份")
    for town in towns:
        if town.inspector_webhook_key in robot_at:
            raise r.fail(f"{town.name}.inspector_webhook_key", f"与 {robot_at[town.inspector_webhook_key]} 的群机器人相同，"
                                                               "巡群日报会发进村群；这里只填纪委自己群的机器人")
