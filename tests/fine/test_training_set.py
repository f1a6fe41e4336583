"""`mdfs build-training-set` on a small copy of the real data folder: the same seed gives the
same bytes, held-out sources and texts stay out, generated junk carries no fingerprint."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.fine.labelled import (
    GENERATED_SOURCES,
    Example,
    NearDuplicates,
    assign_split,
    build_examples,
    split_digest,
)

HELD_OUT_SITE = "web/news_pages/article_pages/sina/"
HELD_OUT_SMS = "spam/test.csv"


def _head_csv(source: Path, target: Path, rows: int) -> None:
    with source.open(encoding="utf-8", newline="") as stream:
        lines = stream.readlines()[: rows + 1]
    target.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(scope="module")
def small_data(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real but small data folder: slices of each source the builder reads (and the
    seed page beside it, as ../samples is beside ../shared/data)."""
    real = shared / "data"
    root = tmp_path_factory.mktemp("shared")
    data = root / "data"
    (data / "text" / "cmrc2018_wikipedia").mkdir(parents=True)
    wiki = json.loads((real / "text/cmrc2018_wikipedia/cmrc2018_trial.json").read_text("utf-8"))
    wiki["data"] = wiki["data"][:40]
    (data / "text/cmrc2018_wikipedia/cmrc2018_trial.json").write_text(
        json.dumps(wiki, ensure_ascii=False), encoding="utf-8"
    )
    with (real / "text/peoples_daily_199801_pos_tagged.txt").open(encoding="utf-8") as stream:
        head = [next(stream) for _ in range(600)]
    (data / "text/peoples_daily_199801_pos_tagged.txt").write_text("".join(head), "utf-8")
    (data / "spam").mkdir()
    _head_csv(real / "spam/sample1.csv", data / "spam/sample1.csv", 1500)
    _head_csv(real / "spam/test.csv", data / "spam/test.csv", 1500)
    shutil.copytree(real / "lexicon", data / "lexicon")
    for site in ("163", "sina", "thepaper"):
        target = data / "web/news_pages/article_pages" / site
        target.mkdir(parents=True)
        for page in sorted((real / "web/news_pages/article_pages" / site).glob("*.html"))[:2]:
            shutil.copy(page, target / page.name)
    shutil.copytree(real / "web/news_pages/list_pages/163", data / "web/news_pages/list_pages/163")
    (root / "samples").mkdir()
    shutil.copy(shared / "samples" / "seed_page.txt", root / "samples" / "seed_page.txt")
    return data


def _build(data: Path, output: Path, *extra: str, hash_seed: str = "0") -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    command = [sys.executable, "-m", "mdfs.cli", "build-training-set", "--data-dir", str(data)]
    subprocess.run([*command, "--output", str(output), *extra], check=True, env=env)
    return output.read_bytes()


def _key(text: str) -> str:
    # as the builder compares texts: no punctuation, space or digits (the SMS set masks them)
    return re.sub(r"[\W\dx]+", "", text.lower())


@pytest.fixture(scope="module")
def built(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Example]:
    return build_examples(small_data, seed=13)


def test_same_seed_same_bytes_whatever_the_hash_seed(small_data: Path, tmp_path: Path) -> None:
    first = _build(small_data, tmp_path / "a.jsonl", hash_seed="1")
    second = _build(small_data, tmp_path / "b.jsonl", hash_seed="2")
    assert first == second
    other = _build(small_data, tmp_path / "c.jsonl", "--seed", "14")
    assert other != first
    records = [json.loads(line) for line in first.decode().splitlines()]
    assert set(records[0]) == {"text", "label", "source", "unit", "group", "split"}
    assert {r["unit"] for r in records} == {"document", "segment"}
    assert {r["split"] for r in records} == {"train", "dev"}
    # every generator contributed, with the label it stands for
    labels = {r["source"]: r["label"] for r in records}
    assert {s for s in labels if s in GENERATED_SOURCES} == GENERATED_SOURCES
    assert labels["marketing_article"] == "ad" and labels["spun"] == "low"
    assert labels["seed_page"] in ("high", "low")


def test_the_split_does_not_move_with_the_data_folder(
    small_data: Path, built: list[Example], tmp_path: Path
) -> None:
    """Moved elsewhere, the data folder gives the same split; and without the seed page
    beside it, every other text keeps its side (its absence moves no random draw)."""

    def split(examples: list[Example]) -> list[tuple[str, str]]:
        return sorted(zip([e.text for e in examples], assign_split(examples), strict=True))

    moved = tmp_path / "moved" / "deeper" / "data"
    shutil.copytree(small_data, moved)
    shutil.copytree(small_data.parent / "samples", moved.parent / "samples")
    again = build_examples(moved, seed=13)
    texts = [e.text for e in again]
    assert split_digest(texts, assign_split(again)) == split_digest(
        [e.text for e in built], assign_split(built)
    )
    alone = tmp_path / "alone" / "data"
    shutil.copytree(small_data, alone)
    without_seed = split(build_examples(alone, seed=13))
    seeded = [e for e in built if e.group != "seed"]
    assert len(seeded) < len(built) and without_seed == split(seeded)


def test_excluded_sources_contribute_nothing(
    small_data: Path, built: list[Example], tmp_path: Path
) -> None:
    with (small_data / HELD_OUT_SMS).open(encoding="utf-8", newline="") as stream:
        held_out = {_key(row["content"]) for row in csv.DictReader(stream)}
    with (small_data / "spam/sample1.csv").open(encoding="utf-8", newline="") as stream:
        held_out -= {_key(row["content"]) for row in csv.DictReader(stream)}
    held_out = {key for key in held_out if len(key) >= 15}
    sina = [p.stem for p in (small_data / HELD_OUT_SITE).glob("*.html")]

    def leaks(examples: list[Example]) -> tuple[int, int]:
        keys = [_key(e.text) for e in examples]
        sms = sum(1 for key in keys if key in held_out)
        pages = sum(1 for e in examples if e.group.startswith("news:sina/"))
        return sms, pages

    sms, pages = leaks(built)
    assert sms > 0 and pages > 0 and sina  # without the exclusion both are in
    listed = tmp_path / "sources.txt"
    listed.write_text(f"# held out\n{HELD_OUT_SMS}\n{HELD_OUT_SITE}\n", encoding="utf-8")
    from mdfs.fine.labelled import read_source_list

    excluded = build_examples(small_data, 13, exclude_sources=read_source_list(listed))
    assert leaks(excluded) == (0, 0)
    assert {e.source for e in excluded} >= {"sms_ad", "page_main_text", "spun"}


def test_near_duplicates_of_held_out_texts_are_dropped(
    small_data: Path, built: list[Example]
) -> None:
    # a held-out text: a Wikipedia paragraph of the set, lightly edited, as a copy on
    # another site would be
    paragraph = next(e.text for e in built if e.source == "wikipedia" and len(e.text) > 200)
    edited = paragraph.replace("的", "之", 2) + "（完）"
    near = NearDuplicates([edited])
    assert near.matches(paragraph) and near.matches(paragraph[:120])
    assert not near.matches(next(e.text for e in built if e.source == "peoples_daily"))
    examples = build_examples(small_data, 13, exclude_texts=[edited])
    assert not any(near.matches(e.text) for e in examples)
    assert sum(near.matches(e.text) for e in built) >= 2  # the document and its segment(s)
    assert len(examples) < len(built)


def test_generated_junk_leaves_no_fingerprint(small_data: Path, built: list[Example]) -> None:
    """No character, and no character pair common in a generator's output, that the real
    text (the set's real examples and the lexicons the generators draw on) lacks; no
    whitespace layout real text does not have."""
    real = [e.text for e in built if e.source not in GENERATED_SOURCES]
    lexicons = "".join(p.read_text("utf-8") for p in (small_data / "lexicon").rglob("*.t*"))
    real_chars = set("".join(real)) | set(lexicons)
    real_pairs = {text[i : i + 2] for text in [*real, lexicons] for i in range(len(text) - 1)}
    for source in sorted(GENERATED_SOURCES):
        texts = [e.text for e in built if e.source == source]
        assert texts, source
        assert set("".join(texts)) <= real_chars, source
        pairs: Counter[str] = Counter()
        for text in texts:
            pairs.update({text[i : i + 2] for i in range(len(text) - 1)})
        # a fingerprint is systematic: a template or marker would be in most of the texts
        # (a line break beside a Chinese character is how any real line starts or ends: a
        # small pool repeats one line's first word; layout is checked below)
        common = {
            pair
            for pair, n in pairs.items()
            if n >= 0.1 * len(texts) and not ("\n" in pair and re.search(r"[\u4e00-\u9fff]", pair))
        }
        assert common <= real_pairs, (source, sorted(common - real_pairs)[:10])
        for pattern in ("  ", "\t", " \n", "\n ", "\n\n"):
            generated = sum(pattern in text for text in texts) / len(texts)
            natural = sum(pattern in text for text in real) / len(real)
            assert generated <= max(2 * natural, 0.01), (source, repr(pattern))


def test_missing_data_folder_and_lists_are_one_line_errors(
    small_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = str(tmp_path / "set.jsonl")
    cases = [
        ["--data-dir", str(tmp_path / "nowhere")],
        ["--data-dir", str(tmp_path)],  # a folder, but not the data folder
        ["--data-dir", str(small_data), "--exclude-sources", str(tmp_path / "none.txt")],
        ["--data-dir", str(small_data), "--exclude-texts", str(tmp_path / "none.jsonl")],
    ]
    for extra in cases:
        assert main(["build-training-set", "--output", output, *extra]) == 2
        error = capsys.readouterr().err.strip()
        assert error.startswith("mdfs build-training-set: error:") and "\n" not in error
    assert not Path(output).exists()
