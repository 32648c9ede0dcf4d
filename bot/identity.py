"""亮明身份: cadres' group nicknames (name and post) in customer groups. Placeholder: filled by the 亮明身份 work."""
from __future__ import annotations


async def group_changed(bot, change) -> None:
    """A customer group changed (change_external_chat, stored in the app-event inbox): filled by the 亮明身份 work."""
    return None
