"""Signed, short-lived tokens for the desk: the sign-in link the bot sends, the session cookie, the OAuth state.

One configured secret ([desk] secret); each use gets its own key derived by HKDF, so a link can never pass for a
cookie. A token carries only a userid and its expiry: no server-side session, nothing personal in a log."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSES = ("link", "session", "state")


class BadToken(ValueError):
    """Forged, mangled, for another purpose, or expired."""


def _key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"xiaowei desk",
                info=f"xiaowei desk {purpose}".encode()).derive(secret.encode("utf-8"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: str, purpose: str, userid: str, expires: datetime) -> str:
    body = _b64(json.dumps({"u": userid, "e": int(expires.timestamp())}, separators=(",", ":")).encode())
    mac = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(secret: str, purpose: str, token: str, now: datetime) -> str:
    """The userid a token names, if it is ours, for this purpose, and not expired."""
    body, _, mac = token.partition(".")
    if not body or not mac or len(token) > 1024:
        raise BadToken("malformed")
    good = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(good, _unb64(mac)):
            raise BadToken("signature")
        data = json.loads(_unb64(body))
        userid, expires = data["u"], int(data["e"])
    except (ValueError, KeyError, TypeError):
        raise BadToken("malformed") from None
    if not isinstance(userid, str) or not userid or now.timestamp() > expires:
        raise BadToken("expired")
    return userid


def oauth_state(secret: str, expires: datetime) -> str:
    """WeCom allows only a-zA-Z0-9 in `state` (≤ 128 bytes): expiry and MAC in hex."""
    stamp = f"{int(expires.timestamp()):x}"
    return stamp + hmac.new(_key(secret, "state"), stamp.encode(), hashlib.sha256).hexdigest()[:32]


def check_state(secret: str, state: str, now: datetime) -> None:
    stamp, mac = state[:-32], state[-32:]
    good = hmac.new(_key(secret, "state"), stamp.encode(), hashlib.sha256).hexdigest()[:32]
    if not stamp or not hmac.compare_digest(good, mac):
        raise BadToken("state")
    try:
        if now.timestamp() > int(stamp, 16):
            raise BadToken("state expired")
    except ValueError:
        raise BadToken("state") from None
