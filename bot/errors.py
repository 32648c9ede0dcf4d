"""The one configuration error: bot/config.py and the files it reads (the power list) raise it alike."""
from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """A configuration problem, in words an IT officer can act on; names the file and the key."""

    def __init__(self, path: Path | str, key: str, problem: str):
        self.path, self.key, self.problem = str(path), key, problem
        super().__init__(f"{path}: {key}: {problem}")
