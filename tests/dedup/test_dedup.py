"""Near-duplicate and paragraph deduplication on real text: Chinese Wikipedia paragraphs
(CMRC 2018) and People's Daily lines from ../shared/data, perturbed here."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from mdfs.cli import main
from mdfs.coarse.near_dedup import MinHasher, band_keys, normalise
from mdfs.report.build import check_accounting
from tests.conftest import read_parts
from tests.dedup import near_threshold

FILLER = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"


def wiki(shared: Path, count: int) -> list[str]:
    paragraphs = []
    for path in sorted((shared / "data" / "text" / "cmrc2018_wikipedia").glob("*.json")):
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
            paragraphs += [p["context"] for p in article["paragraphs"] if len(p["context"]) > 300]
    return paragraphs[:count]


def news_lines(shared: Path, count: int) -> list[str]:
    path = shared / "data" / "text" / "peoples_daily_199801_pos_tagged.txt"
    lines = []
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = "".join(w.split("/")[0] for w in raw.split())
            if len(line) > 40:
                lines.append(line)
            if len(lines) >= count:
                break
    return lines


def edit(text: str, rng: random.Random, changes: int) -> str:
    chars = list(text)
    for _ in range(changes):
        chars[rng.randrange(len(chars))] = rng.choice(FILLER)
    return "".join(chars)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Two input files: 30 originals, and near-copies of the first 10 spread over both files
    (small edits, reordered halves, a truncated copy, an inserted advert), one exact copy."""
    rng = random.Random(7)
    texts = wiki(shared, 30)
    originals = [{"id": f"o{k}", "text": t} for k, t in enumerate(texts)]
    copies = []
    for k, text in enumerate(texts[:10]):
        if k % 4 == 0:
            copy = edit(text, rng, 3)
        elif k % 4 == 1:
            half = len(text) // 2
            copy = text[half:] + "\n" + text[:half]
        elif k % 4 == 2:
            copy = text[: int(len(text) * 0.93)]
        else:
            copy = text + "\n点击链接领取优惠券，全场五折，详询客服。"
        copies.append({"id": f"c{k}", "text": copy})
    copies.append({"id": "x0", "text": texts[12]})  # exact: exact_dedup's, not ours
    root = tmp_path_factory.mktemp("dedup-inputs")
    write_jsonl(root / "a.jsonl", originals[:15] + copies[:5])
    write_jsonl(root / "b.jsonl", originals[15:] + copies[5:])
    return root, {"originals": texts}


SMALL_SHARDS = """
collect:
  shard_max_files: 1
steps:
  - exact_dedup: {}
  - near_dedup: {}
  - paragraph_dedup: {}
"""


def run_dedup(inputs: Path, output: Path, *extra: str) -> dict:
    recipe = output.parent / f"{output.name}-recipe.yaml"
    recipe.write_text(SMALL_SHARDS)
    args = ["dedup", str(inputs), "--output", str(output), "--recipe", str(recipe), *extra]
    assert main(args) == 0
    return json.loads((output / "report.json").read_text())


def test_near_duplicates_removed_distinct_kept(corpus, tmp_path: Path) -> None:
    inputs, _ = corpus
    report = run_dedup(inputs, tmp_path / "out", "--workers", "2")
    check_accounting(report)
    kept = {r["id"]: r for r in read_parts(tmp_path / "out" / "corpus")}
    removed = {r["id"]: r for r in read_parts(tmp_path / "out" / "removed")}
    near = {i: r for i, r in removed.items() if r["reason"] == "near_duplicate"}
    assert len(near) == 10
    assert removed["x0"]["reason"] == "exact_duplicate"
    for k in range(10):
        pair = {f"o{k}", f"c{k}"}
        (loser,) = pair & set(near)
        (winner,) = pair - {loser}
        assert near[loser]["meta"]["duplicate_of"] == winner
        assert kept[winner]["meta"]["duplicate_cluster_size"] == 2
    # the longest stays: the truncated copy goes, the copy with an advert stays
    assert "c2" in near and "o3" in near
    for k in range(10, 30):
        if k != 12:
            assert kept[f"o{k}"]["meta"]["duplicate_cluster_size"] == 1
    figures = report["global_steps"]["near_dedup"]
    assert figures["near_duplicates"] == 10 and figures["clusters"] == 10


def test_same_kept_set_whatever_workers(corpus, tmp_path: Path) -> None:
    inputs, _ = corpus
    run_dedup(inputs, tmp_path / "one", "--workers", "1")
    run_dedup(inputs, tmp_path / "two", "--workers", "2")
    one = [(r["id"], r["meta"]) for r in read_parts(tmp_path / "one" / "corpus")]
    two = [(r["id"], r["meta"]) for r in read_parts(tmp_path / "two" / "corpus")]
    assert one == two


def test_verification_near_the_threshold(shared: Path, tmp_path: Path) -> None:
    """Pairs whose exact Jaccard straddles 0.8: `verify: exact` merges exactly those at or
    above it, `verify: signature` those whose MinHash estimate is; the data holds pairs
    where the two disagree, so the modes must keep different sets."""
    from mdfs.coarse.near_dedup import NearDedup

    pairs = near_threshold.near_threshold_pairs(
        near_threshold.wikipedia_paragraphs(shared), 60, seed=3
    )
    exact, estimate, candidate = near_threshold.similarities(pairs, NearDedup())
    disagree = (exact >= 0.8) != (estimate >= 0.8)
    assert disagree.sum() >= 10
    near_threshold.write_inputs(
        tmp_path / "in", near_threshold.pair_documents(pairs), files=3, seed=3
    )
    for verify, similarity in (("exact", exact), ("signature", estimate)):
        recipe = tmp_path / f"{verify}.yaml"
        recipe.write_text(
            f"collect: {{shard_max_files: 1}}\nsteps: [near_dedup: {{verify: {verify}}}]"
        )
        output = tmp_path / verify
        args = ["dedup", str(tmp_path / "in"), "-o", str(output), "--recipe", str(recipe)]
        assert main(args) == 0
        merged = {r["id"].split("-")[0] for r in read_parts(output / "removed")}
        expected = np.nonzero((similarity >= 0.8) & candidate)[0]
        assert merged == {f"p{n}" for n in expected}, verify


def test_threshold_and_user_errors(corpus, tmp_path: Path, capsys) -> None:
    inputs, _ = corpus
    # at 0.95 only the nearly identical copies (the reordered halves) still merge
    report = run_dedup(inputs, tmp_path / "strict", "--threshold", "0.95")
    assert 0 < report["global_steps"]["near_dedup"]["near_duplicates"] < 10
    assert main(["dedup", str(inputs), "-o", str(tmp_path / "bad"), "--threshold", "1.5"]) == 2
    assert "threshold" in capsys.readouterr().err
    missing = tmp_path / "nowhere"
    assert main(["dedup", str(inputs), "-o", str(tmp_path / "r"), "--reference", str(missing)]) == 2
    assert "no near-duplicate index" in capsys.readouterr().err


def test_reference_index(corpus, shared: Path, tmp_path: Path) -> None:
    inputs, data = corpus
    run_dedup(inputs, tmp_path / "base")
    rng = random.Random(3)
    texts = data["originals"]
    fresh = wiki(shared, 40)[30:35]
    batch = [{"id": f"n{k}", "text": edit(texts[k], rng, 3)} for k in (4, 20, 27)]
    batch += [{"id": f"f{k}", "text": t} for k, t in enumerate(fresh)]
    new = write_jsonl(tmp_path / "batch" / "new.jsonl", batch)
    report = run_dedup(new, tmp_path / "incremental", "--reference", str(tmp_path / "base"))
    check_accounting(report)
    kept = {r["id"] for r in read_parts(tmp_path / "incremental" / "corpus")}
    removed = {r["id"]: r for r in read_parts(tmp_path / "incremental" / "removed")}
    assert kept == {f"f{k}" for k in range(5)}  # reference documents are never output
    assert set(removed) == {"n4", "n20", "n27"}
    assert all(r["reason"] == "near_duplicate" for r in removed.values())
    # o4 had a copy in the base run: either of the two indexed documents may be named
    assert removed["n4"]["meta"]["duplicate_of"] in {"o4", "c4"}
    assert removed["n20"]["meta"]["duplicate_of"] == "o20"
    assert removed["n27"]["meta"]["duplicate_of"] == "o27"
    # the index holds every document the base run's near_dedup saw (40 after exact_dedup)
    assert report["global_steps"]["near_dedup"]["reference_documents"] == 40


def test_paragraph_dedup(shared: Path, tmp_path: Path) -> None:
    """A footer and a disclaimer on many news documents go; the first document keeps them;
    a document that was mostly boilerplate is removed as too short."""
    lines = news_lines(shared, 60)
    footer = "本文来源：人民日报　责任编辑：王小明　版权所有，未经授权不得转载。"
    disclaimer = "免责声明：本站转载内容仅供参考，不代表本站观点，如有侵权请联系删除。"
    records = []
    for k in range(8):
        body = "\n".join(lines[k * 6 : k * 6 + 6])
        records.append({"id": f"d{k}", "text": f"{body}\n{footer}\n{disclaimer}"})
    records.append({"id": "thin", "text": f"{lines[50]}\n{footer}\n{disclaimer}"})
    inputs = write_jsonl(tmp_path / "in" / "news.jsonl", records)
    report = run_dedup(inputs, tmp_path / "out")
    check_accounting(report)
    kept = {r["id"]: r for r in read_parts(tmp_path / "out" / "corpus")}
    removed = {r["id"]: r for r in read_parts(tmp_path / "out" / "removed")}
    assert removed["thin"]["reason"] == "too_short_after_paragraph_dedup"
    assert footer in kept["d0"]["text"] and disclaimer in kept["d0"]["text"]
    for k in range(1, 8):
        assert footer not in kept[f"d{k}"]["text"] and disclaimer not in kept[f"d{k}"]["text"]
        assert kept[f"d{k}"]["text"].startswith(lines[k * 6])
        assert kept[f"d{k}"]["meta"]["paragraphs_removed"] == 2
    assert report["global_steps"]["paragraph_dedup"]["frequent_paragraphs"] == 2


def test_a_paragraph_is_frequent_from_min_documents_on(shared: Path, tmp_path: Path) -> None:
    """min_documents is 3: a paragraph in three documents goes from all but the first, one in
    two documents stays in both."""
    lines = news_lines(shared, 40)
    thrice = "特别提示：本栏目稿件均经编辑部核实，转载时请注明出处与作者姓名。"
    twice = "读者热线：欢迎来信来电反映身边的新闻线索，我们将及时回复处理。"
    records = []
    for k in range(5):
        extra = ([thrice] if k < 3 else []) + ([twice] if k in (1, 4) else [])
        records.append({"id": f"d{k}", "text": "\n".join(lines[k * 6 : k * 6 + 6] + extra)})
    inputs = write_jsonl(tmp_path / "in" / "news.jsonl", records)
    report = run_dedup(inputs, tmp_path / "out")
    kept = {r["id"]: r["text"] for r in read_parts(tmp_path / "out" / "corpus")}
    assert [thrice in kept[f"d{k}"] for k in range(5)] == [True, False, False, False, False]
    assert twice in kept["d1"] and twice in kept["d4"]
    assert report["global_steps"]["paragraph_dedup"]["frequent_paragraphs"] == 1


def test_signature_estimates_jaccard(shared: Path) -> None:
    rng = random.Random(1)
    hasher = MinHasher(5, 128, 1)
    for text in wiki(shared, 10):
        copy = edit(text, rng, 10)
        a, b = (normalise(t) for t in (text, copy))
        x, y = ({s[i : i + 5] for i in range(len(s) - 4)} for s in (a, b))
        truth = len(x & y) / len(x | y)
        signatures, _ = hasher.signatures([text, copy])
        estimate = float(np.mean(signatures[0] == signatures[1]))
        assert abs(estimate - truth) < 0.15


def test_index_streams_what_it_maps(shared: Path, tmp_path: Path) -> None:
    """The Spark decide streams a shard's files in batches, the local one maps them: the same
    shingle sets and signatures either way, across batch edges and documents without any."""
    from mdfs.coarse.near_dedup import NearDedup
    from mdfs.coarse.near_dedup_index import NearDedupIndex
    from mdfs.document import Document

    step = NearDedup()
    step.bind(tmp_path / "index")
    texts = wiki(shared, 12)
    texts[3:3] = ["", "。，！"]  # nothing left after normalisation: no shingles
    step.observe("s", (Document(f"d{k}", text, "test") for k, text in enumerate(texts)))
    index = NearDedupIndex(str(tmp_path / "index"))
    ordinals = np.arange(len(texts))
    mapped = index.shingle_sets_at("s", ordinals)
    streamed = {}
    for found, offsets, values in index.shingle_set_batches("s", max_values=700):
        for k, ordinal in enumerate(found.tolist()):
            streamed[ordinal] = values[offsets[k] : offsets[k + 1]]
    assert sorted(streamed) == [k for k in range(len(texts)) if k not in (3, 4)]
    for ordinal, values in streamed.items():
        assert np.array_equal(values, mapped[ordinal])
    rows = index.signatures_at("s", len(texts), step.num_perm, ordinals)
    blocks = index.signature_batches("s", len(texts), step.num_perm, batch=5)
    assert np.array_equal(np.concatenate([block for _, block in blocks]), rows)
    assert index.ids("s") == [f"d{k}" for k in range(len(texts))]
    # a block holds about max_values hashes: all of them at once, or one document a block
    sizes = [len(v) for v in mapped]
    assert len(list(index.shingle_set_batches("s", max_values=sum(sizes)))) == 1
    single = [len(found) for found, _, _ in index.shingle_set_batches("s", max_values=1)]
    assert single == [1] * (len(texts) - 2)


def test_each_band_hashes_its_own_rows_only() -> None:
    """LSH: two signatures that differ in one row differ in that row's band alone, so they
    still meet in every other band."""
    rng = np.random.default_rng(0)
    first = rng.integers(0, 1 << 32, (1, 120), dtype=np.uint64).astype(np.uint32)
    second = first.copy()
    second[0, 0] += 1  # band 0's first row
    third = first.copy()
    third[0, 119] += 1  # the last band's last row
    keys = band_keys(np.concatenate([first, second, third]), bands=20, rows=6)
    assert keys.shape == (3, 20)
    assert (keys[0] != keys[1]).tolist() == [True] + [False] * 19
    assert (keys[0] != keys[2]).tolist() == [False] * 19 + [True]
    assert len(set(keys[0].tolist())) == 20  # the band number is hashed in
