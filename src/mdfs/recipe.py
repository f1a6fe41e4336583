"""A recipe is data: YAML validated into typed settings and steps."""

from __future__ import annotations

import importlib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mdfs.errors import UserError
from mdfs.pipeline import STEP_REGISTRY, Step

# Modules whose steps recipes can name. Adding a step to MDFS: write its class with @register
# in a module, list the module here, and name the step in a recipe. A user's own steps live in
# their own package instead, named by the recipe's `modules:` list.
STEP_MODULES = [
    "mdfs.collect.steps",
    "mdfs.coarse.normalize",
    "mdfs.coarse.language",
    "mdfs.coarse.boilerplate",
    "mdfs.coarse.rules",
    "mdfs.coarse.keywords",
    "mdfs.coarse.pii",
    "mdfs.coarse.decontaminate",
    "mdfs.coarse.exact_dedup",
    "mdfs.coarse.near_dedup",
    "mdfs.coarse.paragraph_dedup",
    "mdfs.fine.step",
    "mdfs.fine.fluency",
    "mdfs.fine.lexical",
    "mdfs.fine.url_signals",
    "mdfs.fine.combiner",
]


def load_step_modules() -> dict[str, type[Step]]:
    for name in STEP_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or not name.startswith(error.name):
                raise  # a missing dependency inside the module, not a missing module
    return STEP_REGISTRY


STAGES = ("collect", "coarse", "fine", "plugin")


def stage_of(step: type[Step]) -> str:
    """The stage a step belongs to, by the package that defines it (`plugin` outside mdfs)."""
    package = step.__module__.split(".")
    return package[1] if package[0] == "mdfs" and package[1] in STAGES else "plugin"


class CollectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_document_bytes: int = Field(10_000_000, gt=0)
    text_field: str = Field(
        "text", min_length=1, description="JSONL/parquet/CSV field that holds the text"
    )
    id_field: str = Field(
        "id", min_length=1, description="field that holds the id (default: FILE#LINE)"
    )
    shard_max_bytes: int = Field(128_000_000, gt=0, description="input bytes per shard")
    # Shards are cut to at least `min_shards` while each keeps `shard_min_bytes`, so a few
    # files (or one) of some MB still give every worker a shard; counting inputs and
    # recipe only (never --workers) keeps the plan, and so resume, the same on any machine.
    shard_min_bytes: int = Field(
        1_000_000, gt=0, description="input bytes a shard keeps when inputs are cut finer"
    )
    min_shards: int = Field(
        64, gt=0, description="shards the inputs are cut into, while shards keep shard_min_bytes"
    )
    shard_max_files: int = Field(256, gt=0, description="input files per shard")


class OutputSettings(BaseModel):
    """What a run writes besides its steps' decisions (`mdfs run` flags override these)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["jsonl", "parquet"] = Field(
        "jsonl", description="corpus files: JSON lines (gzip) or Parquet (meta as JSON text)"
    )
    annotate: bool = Field(
        False, description="remove nothing: every document kept, with each step's verdict"
    )
    tokenizer: str | None = Field(
        None, description="tokenizer.json (or its folder) to count tokens; null: an estimate"
    )


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    collect: CollectSettings = Field(default_factory=CollectSettings)
    output: OutputSettings = Field(default_factory=OutputSettings)
    modules: list[str] = Field(default_factory=list)
    steps: list[Step]


def default_recipe_path() -> Path:
    return Path(str(resources.files("mdfs") / "recipes" / "default.yaml"))


def _explain(error: ValidationError) -> str:
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    got = first.get("input")
    shown = "" if isinstance(got, dict) else f" (got {got!r})"
    more = f"; and {error.error_count() - 1} more" if error.error_count() > 1 else ""
    return f"{where}: {message}{shown}{more}"


def build_step(entry: Any, position: int) -> Step:
    registry = load_step_modules()
    if isinstance(entry, str):
        name, params = entry, {}
    elif isinstance(entry, dict) and len(entry) == 1:
        name, params = next(iter(entry.items()))
        params = params or {}
    else:
        raise UserError(f"recipe step {position}: write `- name: {{params}}`, got {entry!r}")
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise UserError(f"recipe step {position}: unknown step {name!r} (known: {known})")
    if not isinstance(params, dict):
        raise UserError(f"recipe step {position} ({name}): parameters must be a mapping")
    try:
        return registry[name].model_validate(params)
    except ValidationError as error:
        raise UserError(f"recipe step {position} ({name}): {_explain(error)}") from None


def import_modules(modules: Any, origin: str = "recipe") -> list[str]:
    """Import the user's step modules a recipe names, so their @register steps can be used."""
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise UserError(f"{origin}: `modules` is a list of importable module names")
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # an import runs the user's code: any error is theirs
            raise UserError(
                f"{origin}: cannot import module {name!r}: {type(error).__name__}: {error}"
            ) from None
    return modules


def parse_recipe(data: Any, origin: str = "recipe", plugins: list[str] | None = None) -> Recipe:
    """A recipe from its YAML data; `plugins` are step modules to import besides the
    recipe's own `modules:` (`mdfs run --plugins`), and are recorded with them."""
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise UserError(f"{origin}: a recipe is a mapping with a list under `steps`")
    unknown = set(data) - {"collect", "output", "modules", "steps"}
    if unknown:
        raise UserError(
            f"{origin}: unknown section(s) {sorted(unknown)}; "
            "known: collect, output, modules, steps"
        )
    modules = import_modules(data.get("modules") or [], origin)
    extra = [name for name in plugins or [] if name not in modules]
    modules = modules + import_modules(extra, "--plugins")
    steps = [build_step(entry, i) for i, entry in enumerate(data["steps"], start=1)]
    names = [step.name for step in steps]
    duplicated = {n for n in names if names.count(n) > 1}
    if duplicated:
        raise UserError(f"{origin}: step(s) {sorted(duplicated)} appear more than once")
    try:
        collect = CollectSettings.model_validate(data.get("collect") or {})
    except ValidationError as error:
        raise UserError(f"{origin}: collect.{_explain(error)}") from None
    try:
        output = OutputSettings.model_validate(data.get("output") or {})
    except ValidationError as error:
        raise UserError(f"{origin}: output.{_explain(error)}") from None
    return Recipe(collect=collect, output=output, modules=modules, steps=steps)


def load_recipe(path: str | Path | None = None, plugins: list[str] | None = None) -> Recipe:
    path = Path(path) if path is not None else default_recipe_path()
    if path.is_dir():
        raise UserError(f"recipe {path} is a folder; give a recipe's YAML file")
    if not path.is_file():
        raise UserError(f"recipe {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"recipe {path} cannot be read ({error.strerror or error})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        message = str(error).replace("\n", " ")
        raise UserError(f"recipe {path} is not valid YAML: {message}") from None
    return parse_recipe(data, origin=f"recipe {path}", plugins=plugins)
