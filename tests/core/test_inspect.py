"""`mdfs show`, `stats` and `sample` over a real (small) run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mdfs.cli import main
from mdfs.report.inspect import funnel_by
from tests.core.test_coarse import wikipedia_paragraphs

# small shards: the input is cut into pieces, whose counts the report adds up
RECIPE = """
collect: {shard_max_bytes: 5000}
steps:
  - normalize: {}
  - quality_rules: {min_chars: 200}
  - exact_dedup: {}
"""


@pytest.fixture(scope="module")
def run_dir(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inspect")
    paragraphs = [p for p in wikipedia_paragraphs(shared) if len(p) > 250][:12]
    rows = [
        {
            "id": f"wiki-{i}",
            "text": p,
            "url": f"https://{'zh.wikipedia.org' if i % 2 else 'baike.example.cn'}/{i}",
        }
        for i, p in enumerate(paragraphs)
    ]
    rows += [{"id": "short", "text": paragraphs[0][:50], "url": "https://baike.example.cn/s"}]
    rows += [{"id": "copy", "text": paragraphs[1], "url": "https://zh.wikipedia.org/copy"}]
    (root / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (root / "recipe.yaml").write_text(RECIPE)
    args = [
        "run",
        str(root / "in.jsonl"),
        "-o",
        str(root / "out"),
        "--recipe",
        str(root / "recipe.yaml"),
    ]
    assert main([*args, "--workers", "1"]) == 0
    return root / "out"


def test_stats_by_domain_adds_up(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", str(run_dir), "--by", "domain"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["baike.example.cn"][1:4] == ["7", "6", "85.7%"]
    assert rows["zh.wikipedia.org"][1:4] == ["7", "6", "85.7%"]
    assert "quality_rules/too_short" in " ".join(rows["baike.example.cn"])
    assert "exact_dedup/exact_duplicate" in " ".join(rows["zh.wikipedia.org"])


def test_the_report_holds_the_funnel_by_domain(run_dir: Path) -> None:
    """Counted per shard as the run goes, it equals what `mdfs stats` reads from the output."""
    report = json.loads((run_dir / "report.json").read_text())
    assert report["inputs"]["shards"] > 2
    from_output = {name: dict(counts) for name, counts in funnel_by(run_dir, "domain").items()}
    assert report["domains"] == from_output and report["domains_count"] == 2
    html = (run_dir / "report.html").read_text()
    table = html.split("<table id=domains>")[1].split("</table>")[0]
    rows = [row for row in table.split("<tr>") if "<td" in row]
    assert len(rows) == 2 and "baike.example.cn" in rows[0]  # as many in: by name
    assert "quality_rules/too_short 1" in rows[0] and "86%" in rows[0]
    assert "exact_dedup/exact_duplicate 1" in rows[1]


def test_show_filters_by_step_and_reason(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(run_dir), "--reason", "exact_duplicate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[exact_dedup/exact_duplicate] copy ")
    assert main(["show", str(run_dir), "--kept", "-n", "3"]) == 0
    assert capsys.readouterr().out.count("[kept]") == 3


def test_sample_is_reproducible_and_seeded(run_dir: Path, tmp_path: Path) -> None:
    def draw(name: str, seed: int) -> list[str]:
        path = tmp_path / name
        assert main(["sample", str(run_dir), "-n", "5", "-o", str(path), "--seed", str(seed)]) == 0
        return [json.loads(line)["id"] for line in path.read_text().splitlines()]

    first = draw("a.jsonl", 0)
    assert len(set(first)) == 5
    assert draw("b.jsonl", 0) == first
    assert draw("c.jsonl", 1) != first
    assert main(["sample", str(run_dir), "-n", "100", "-o", str(tmp_path / "all.jsonl")]) == 0
    statuses = [
        json.loads(line)["status"] for line in (tmp_path / "all.jsonl").read_text().splitlines()
    ]
    assert len(statuses) == 14 and statuses.count("kept") == 12


def test_a_run_folder_as_input_stands_for_its_corpus(run_dir: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "none.yaml"
    recipe.write_text("steps: []\n")
    again = tmp_path / "again"
    assert main(["run", str(run_dir), "-o", str(again), "--recipe", str(recipe)]) == 0
    report = json.loads((again / "report.json").read_text())
    assert report["documents_in"] == 12  # the kept documents, not the removed ones or reports
    assert report["errors"] == {}
    assert all("/corpus/" in source for source in report["sources"])
