"""亮明身份: cadres' group nicknames (name and post) in customer groups — placeholder."""


async def group_changed(bot, change):
    """filled by the 亮明身份 work"""
    return None
