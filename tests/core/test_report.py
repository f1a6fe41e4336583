"""The run report over real news pages: characters per step, score histograms with their
thresholds, before/after views, the embedded recipe; read as JSON and seen in a real headless
chromium (skips without it and Playwright, see tests/review/browser_util.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mdfs.cli import main
from mdfs.recipe import load_recipe
from mdfs.report.build import check_accounting
from mdfs.run import resolved_recipe
from tests.conftest import REPO
from tests.review.browser_util import launch_browser

SAMPLE = REPO / "examples" / "data"

RECIPE = """
steps:
  - extract: {}
  - normalize: {}
  - boilerplate: {}
  - language: {min_cjk_ratio: 0.35}
  - quality_rules: {}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run over the bundled sample (a WARC of real pages, a JSONL dump, the seed page)."""
    root = tmp_path_factory.mktemp("report")
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE)
    output = root / "out"
    command = ["run", str(SAMPLE), "-o", str(output), "--recipe", str(recipe), "--workers", "1"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["/usr/local/bin/mdfs", *command])  # as the console script
        assert main(command) == 0
    return output


def test_report_json_counts_characters_scores_and_cuts(run_dir: Path) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    check_accounting(report)
    steps = {step["name"]: step for step in report["steps"]}
    for step in steps.values():
        cut = step["chars_in"] - step["chars_out"] - step["chars_removed"]
        assert cut >= 0, step["name"]  # no step adds characters to what it keeps here
    boilerplate = steps["boilerplate"]
    assert boilerplate["chars_out"] < boilerplate["chars_in"]
    assert boilerplate["chars_removed"] == 0  # it cut lines, not documents
    cuts = report["cut_examples"]["boilerplate"]
    assert cuts and all(c["chars_after"] < c["chars_before"] for c in cuts)
    assert "extract" not in report["cut_examples"]  # markup to text is no cut worth showing

    language = steps["language"]["histograms"]
    # every document that reached the step has both scores, kept and removed counted apart
    for histogram in language.values():
        assert sum(histogram["kept"]) == steps["language"]["kept"]
        assert sum(histogram["removed"]) == sum(steps["language"]["removed"].values())
    assert language["meta.cjk_ratio"]["threshold"] == 0.35  # the recipe's value, not the default
    assert language["meta.language_score"]["threshold"] == 0.5
    length = steps["quality_rules"]["histograms"]["length"]
    assert length["log"] and length["threshold"] == 200

    removed = report["removed_examples"]["language/low_cjk_ratio"][0]
    assert removed["scores"]["meta.cjk_ratio"] < 0.35  # the score that removed it, shown
    assert len(report["kept_examples"]["language"]) == 3

    run = report["run"]
    assert run["command"].startswith("mdfs run ") and run["mdfs_version"]
    assert run["started"].endswith("+00:00") and run["seconds"] > 0


def test_saved_recipe_is_the_resolved_recipe_and_reruns(run_dir: Path) -> None:
    saved = run_dir / "recipe.yaml"
    text = saved.read_text()
    assert yaml.safe_load(text)["steps"][3]["language"]["min_score"] == 0.5  # a default, filled in
    assert resolved_recipe(load_recipe(saved)) == text  # reading it back changes nothing
    report = json.loads((run_dir / "report.json").read_text())
    assert report["run"]["recipe"] == text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch_browser()


def test_report_html_in_a_browser(browser: Any, run_dir: Path) -> None:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((run_dir / "report.html").as_uri())
    report = json.loads((run_dir / "report.json").read_text())
    boilerplate = next(s for s in report["steps"] if s["name"] == "boilerplate")

    funnel = page.locator("#funnel")
    assert "chars cut from kept docs" in funnel.inner_text()
    row = funnel.locator("tr", has_text="boilerplate").inner_text()
    assert f"{boilerplate['chars_in']:,}" in row and f"{boilerplate['chars_out']:,}" in row

    figures = page.locator("figure.histogram")
    assert figures.count() >= 3
    with_threshold = [
        figures.nth(i)
        for i in range(figures.count())
        if figures.nth(i).locator("line.threshold").count()
    ]
    assert len(with_threshold) >= 3
    for figure in with_threshold:
        box = figure.locator("svg").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100  # drawn, visible
        assert "threshold" in figure.locator("figcaption").inner_text()
    assert page.locator("figcaption", has_text="min_cjk_ratio = 0.35").is_visible()

    assert page.locator("#before-after").is_visible()
    assert page.locator("pre.before .cut").count() > 0  # the cut lines, marked
    assert page.locator("pre.after").first.is_visible()

    recipe = page.locator("#recipe").inner_text()
    assert "min_cjk_ratio: 0.35" in recipe and "min_score: 0.5" in recipe
    assert page.get_by_text(report["run"]["command"]).first.is_visible()
    assert errors == []
