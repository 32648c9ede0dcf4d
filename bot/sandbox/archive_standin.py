"""A pure-Python stand-in for the chat archive's Finance SDK, for the demo: it hands the reader the records the
C SDK would hand it after decrypting (GetChatData, then RSA and DecryptData), in the documented message shape.
Everything after that — the reader's cursor, storing, the handlers, the answers — is the real code.

The tests use the C stand-in SDK (tests/finance_sdk: real ctypes, RSA, AES), which needs a C compiler and
OpenSSL headers; a county IT officer's fresh machine has neither, so the demo uses this one and says so."""
from __future__ import annotations

from datetime import datetime

from bot.channels.archive_sdk import Record


class ArchiveStandIn:
    """The archive's records by seq; `say` adds a group text message as WeCom would archive it."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def say(self, *, roomid: str, sender: str, text: str, at: datetime) -> str:
        seq = len(self.records) + 1
        msgid = f"demo-archive-{seq}"
        self.records.append(Record(seq, msgid, 1, {
            "msgid": msgid, "action": "send", "from": sender, "tolist": [], "roomid": roomid,
            "msgtime": int(at.timestamp() * 1000), "msgtype": "text", "text": {"content": text}}))
        return msgid

    # --- what the reader calls (bot/channels/archive.py ArchiveReader, as FinanceSdk) ----------------
    def pull(self, seq: int, limit: int) -> list[Record]:
        return [r for r in self.records if r.seq > seq][:limit]

    def close(self) -> None:
        pass
