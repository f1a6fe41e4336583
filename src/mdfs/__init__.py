"""MDFS: a Massive Data Filtering System for Chinese pretraining data.

From Python: `mdfs.process(texts, recipe=None)` runs a recipe over texts in memory and
returns the kept and removed documents with their reasons and scores (`mdfs.api`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mdfs.version import __version__

__all__ = ["__version__", "process"]

if TYPE_CHECKING:
    from mdfs.api import Processed


def process(texts: Any, recipe: Any = None, workers: int = 1, annotate: bool = False) -> Processed:
    """See `mdfs.api.process` (imported here on first use: `mdfs --help` stays light)."""
    from mdfs.api import process as run

    return run(texts, recipe, workers=workers, annotate=annotate)
