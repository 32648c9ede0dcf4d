"""Strict shapes for what a callback carries once its signature holds: ids, texts, flags, times, reply URLs.

A value of the wrong type or an absurd one is refused (400, nothing stored) rather than stored as its repr,
mistaken for a redelivery, or left to crash a handler later. Reasons name the field, never the value."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Iterable
from urllib.parse import urlsplit

from bot.clock import local
from bot.crypto import MalformedCallback

ID_MAX = 128             # WeCom's ids (msgid, userid, chatid, aibotid) are well under this
TEXT_MAX = 8000          # characters; WeCom's own text limits are lower
URL_MAX = 2048
ITEMS_MAX = 100          # parts of one mixed message
WECOM_ORIGIN = ("https", "qyapi.weixin.qq.com", 443)
_DEFAULT_PORT = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")      # a lone surrogate cannot be written as UTF-8


def ident(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > ID_MAX or _CONTROL.search(value):
        raise MalformedCallback(f"{field} is not a valid id")
    return value


def optional_ident(value: Any, field: str) -> str | None:
    return None if value is None else ident(value, field)


def text(value: Any, field: str, limit: int = TEXT_MAX) -> str:
    if not isinstance(value, str) or len(value) > limit or _UNSTORABLE.search(value):
        raise MalformedCallback(f"{field} is not a text of at most {limit} characters")
    return value


def obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedCallback(f"{field} is not an object")
    return value


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise MalformedCallback(f"{field} is not true or false")
    return value


def items(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > ITEMS_MAX:
        raise MalformedCallback(f"{field} is not a list of at most {ITEMS_MAX} parts")
    return [obj(item, f"{field}[]") for item in value]


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORT.get(parts.scheme)


def reply_url(value: Any, field: str, allowed: Iterable[tuple[str, str, int | None]]) -> str:
    """A URL the outbox will POST to later: only WeCom's API host (or the configured stand-in), so a forged or
    mistaken payload cannot point the bot at file://, an intranet address or somebody else's server."""
    if not isinstance(value, str) or len(value) > URL_MAX or _CONTROL.search(value) or " " in value:
        raise MalformedCallback(f"{field} is not a URL")
    try:
        parts = urlsplit(value)
        where = origin(value)
    except ValueError:                       # a bad port or an unbalanced IPv6 bracket
        raise MalformedCallback(f"{field} is not a URL") from None
    if parts.username is not None or parts.password is not None or where not in set(allowed):
        raise MalformedCallback(f"{field} is not on WeCom's API host")
    return value


def moment(value: Any, field: str, now: datetime, *, before: timedelta, after: timedelta) -> datetime:
    """An ISO time from now - before to now + after (Shanghai time if it names no zone)."""
    try:
        when = local(value) if isinstance(value, str) else None
        fits = when is not None and now - before <= when <= now + after
    except (ValueError, OverflowError):      # not ISO; or year 1 / 9999 pushed past datetime's range by its zone
        fits = False
    if not fits:
        raise MalformedCallback(f"{field} is not an ISO time near now")
    return when  # type: ignore[return-value]
