"""MDFS from Python (a notebook): `process(texts, recipe)` → kept and removed documents.

It is an `mdfs run` into a temporary folder, so every step works as on the command line
(deduplication included) and the report comes with the result.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdfs.document import Document
from mdfs.errors import UserError
from mdfs.recipe import Recipe, load_recipe, parse_recipe

SOURCE = "mdfs.process"


@dataclass
class Processed:
    """What `process` returns. Each document is a dict as the corpus files hold it (`id`,
    `text`, `source`, `url`, `meta`, where the steps leave their scores); a removed one
    also has `removed_by` (the step) and `reason`. `report` is the run's report.json."""

    kept: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    report: dict[str, Any]


def process(
    texts: Iterable[str | dict[str, Any]],
    recipe: Recipe | str | os.PathLike[str] | dict[str, Any] | None = None,
    workers: int = 1,
    annotate: bool = False,
) -> Processed:
    """Run a recipe over texts in memory.

    `texts`: strings, or dicts with `text` (and optionally `id`, `url`, `source`; any other
    field goes into `meta`). `recipe`: a YAML file, the recipe as a dict, a loaded `Recipe`
    (its models stay loaded between calls with `workers=1`), or None for the default.
    `annotate`: remove nothing; every document comes back in `kept` with its verdicts.
    """
    from mdfs.engines.local import LocalEngine
    from mdfs.run import run_pipeline

    recipe = _recipe(recipe)
    if annotate:
        recipe = recipe.model_copy(
            update={"output": recipe.output.model_copy(update={"annotate": True})}
        )
    with tempfile.TemporaryDirectory(prefix="mdfs-process-") as scratch:
        inputs = Path(scratch) / "inputs.jsonl.gz"
        with gzip.open(inputs, "wb") as stream:
            for number, item in enumerate(texts):
                stream.write(_document(item, number).to_json() + b"\n")
        output = Path(scratch) / "run"
        report = run_pipeline(
            [str(inputs)], output, recipe, LocalEngine(workers), command="mdfs.process",
            stored_inputs=True,
        )  # fmt: skip
        return Processed(_records(output / "corpus"), _records(output / "removed"), report)


def _recipe(recipe: Recipe | str | os.PathLike[str] | dict[str, Any] | None) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, dict):
        return parse_recipe(recipe)
    return load_recipe(recipe)


def _document(item: str | dict[str, Any], number: int) -> Document:
    if isinstance(item, str):
        return Document(id=str(number), text=item, source=SOURCE, meta={"format": "text"})
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise UserError(f"text {number}: give a string or a dict with a string `text`")
    fields = dict(item)
    text = fields.pop("text")
    document_id = str(fields.pop("id", number))
    url, source = fields.pop("url", None), str(fields.pop("source", SOURCE))
    meta = {"format": "text", **fields.pop("meta", {}), **fields}
    return Document(id=document_id, text=text, source=source, url=url, meta=meta)


def _records(folder: Path) -> list[dict[str, Any]]:
    from mdfs.layout import part_files, read_records
    from mdfs.storage import filesystem

    fs = filesystem(folder)[0]
    return [record for part in part_files(fs, str(folder)) for record in read_records(fs, part)]
