"""xiaowei (小微): hears every village group, opens cases with legal deadlines, keeps them moving."""
from importlib.resources import files
from importlib.resources.abc import Traversable

__version__ = "0.2.0"


def data(*parts: str) -> Traversable:
    """What the bot ships (model, user dictionary, holiday tables, news, the example config), as package data.

    `bot/data` is the repository's top-level `data/` (a symlink in the checkout, real files in the wheel), so a
    checkout, an editable install and a wheel read the same files."""
    return files("bot").joinpath("data", *parts)
