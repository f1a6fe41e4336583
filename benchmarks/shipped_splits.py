"""Record the train/dev split each shipped classifier was trained on, as split.json beside it.

The labelled sets are not shipped (their texts are not ours to redistribute), and the
builder has changed since each model was trained, so each set is rebuilt by the builder of
the commit that made it (`git archive` of that commit's `src/`, run from a scratch folder)
from the shared data, and its split is recorded by content (`mdfs.fine.labelled.split_record`:
the keys of the dev texts and a digest of the whole split), which names the same split
wherever the data folder lies. The script stops if a rebuilt split differs from the one
the model's figures were published with.

The issue-4 builder named list pages' groups by the data folder's absolute path, so their
side of the split depended on where the data lay; the model was built with the data at
/work/shared/data, and the groups are named as there, wherever the data is now.

    python benchmarks/shipped_splits.py [--data-dir ../shared/data]   # a few minutes
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mdfs.fine.labelled import recorded_sides, split_record  # noqa: E402
from mdfs.fine.scoring import MODELS_DIR  # noqa: E402
from mdfs.fine.training import SPLIT_FILE  # noqa: E402
from mdfs.shared import shared_folder  # noqa: E402

# model folder: the commit whose builder made its labelled set, how it was called, and the
# dev segments per class its published figures count
SHIPPED = {
    "quality-bert": {
        "commit": "5bb48f4",
        "command": "mdfs build-training-set (seed 13), data at /work/shared/data",
        "published": {"high": 1515, "low": 1131, "ad": 474},
        "group_data_path": "/work/shared/data",
        "exclude": False,
    },
    "quality-fasttext": {
        "commit": "83993f9",
        "command": (
            "mdfs build-training-set (seed 13) --exclude-sources "
            "benchmarks/data/fine_dev/sources.txt --exclude-texts "
            "benchmarks/data/fine_dev/labels.jsonl"
        ),
        "published": {"high": 986, "low": 1351, "ad": 490},
        "group_data_path": None,
        "exclude": True,
    },
}

# Run with that commit's src/ first on the path: the segments (the unit the classifiers
# train on) with their label and side, as JSON lines.
BUILD = """
import json, sys
from pathlib import Path
from mdfs.fine import labelled
data, output, group_path, exclude, root = sys.argv[1:6]
if exclude == "1":
    sources = labelled.read_source_list(Path(root, "benchmarks/data/fine_dev/sources.txt"))
    texts = labelled.read_texts(Path(root, "benchmarks/data/fine_dev/labels.jsonl"))
    examples = labelled.build_examples(Path(data), 13, sources, texts)
else:
    examples = labelled.build_examples(Path(data), 13)
if group_path:
    for e in examples:
        if e.group.startswith("list:" + data):
            e.group = "list:" + group_path + e.group[len("list:" + data):]
sides = labelled.assign_split(examples)
with open(output, "w", encoding="utf-8") as out:
    for e, side in zip(examples, sides):
        if getattr(e, "unit", "segment") == "segment":
            out.write(json.dumps({"text": e.text, "label": e.label, "side": side}) + "\\n")
"""


def rebuilt_segments(commit: str, data: Path, group_path: str | None, exclude: bool) -> list[dict]:
    paths = ["src", "benchmarks/data/fine_dev"] if exclude else ["src"]
    archive = subprocess.run(
        ["git", "archive", commit, *paths], cwd=REPO, check=True, capture_output=True
    ).stdout
    with tempfile.TemporaryDirectory() as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
        output = Path(scratch) / "segments.jsonl"
        subprocess.run(
            [sys.executable, "-c", BUILD, str(data), str(output), group_path or "",
             "1" if exclude else "0", scratch],
            cwd=scratch, check=True, env={"PYTHONPATH": str(Path(scratch) / "src"),
                                          "PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        return [json.loads(line) for line in output.read_text("utf-8").splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=shared_folder() / "data")
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    args = parser.parse_args()
    data = args.data_dir.resolve()
    for name, shipped in SHIPPED.items():
        segments = rebuilt_segments(
            shipped["commit"], data, shipped["group_data_path"], shipped["exclude"]
        )
        dev = {label: 0 for label in shipped["published"]}
        for segment in segments:
            if segment["side"] == "dev":
                dev[segment["label"]] += 1
        print(f"{name}: {len(segments):,} segments; dev {dev}; published {shipped['published']}")
        if dev != shipped["published"]:
            print(f"{name}: the rebuilt split is not the published one; nothing written")
            return 1
        rule = (
            f"the split of commit {shipped['commit']}'s labelled set ({shipped['command']}): "
            "by group, near-duplicates joined; its segments"
        )
        texts = [s["text"] for s in segments]
        record = split_record(texts, [s["side"] for s in segments], rule)
        assert recorded_sides(texts, record) == [s["side"] for s in segments]  # rebuilds it
        (args.models / name / SPLIT_FILE).write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: digest {record['digest']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
