"""xiaowei (小微): hears every village group, opens cases with legal deadlines, keeps them moving."""
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
