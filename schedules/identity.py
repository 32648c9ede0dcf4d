"""亮明身份, each morning before the digest: every customer village's group read again (groupchat/get) and checked —
cadres present and labelled with name and post, the configured owner. The rule and the telling live in the core
(bot/identity.py), because WeCom's member-change callback runs the same check at once."""
from __future__ import annotations

from bot.identity import JOB

__all__ = ["JOB"]
