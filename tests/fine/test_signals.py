"""The fine filter's signals on real text: fluency, URL shape, lexical densities, combiner."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from mdfs.coarse.normalize import Normalize
from mdfs.document import Document
from mdfs.fine.fluency import Fluency, held_out_of_fluency_model, reference_lines
from mdfs.fine.labelled import _wikipedia
from mdfs.fine.ngram import CharNgramModel


@pytest.fixture(scope="module")
def normalize() -> Normalize:
    step = Normalize()
    step.setup()
    return step


@pytest.fixture(scope="module")
def held_out_wiki(shared: Path, normalize: Normalize) -> list[str]:
    """Wikipedia paragraphs the shipped fluency model was not trained on."""
    texts = [
        t for t, title in _wikipedia(shared / "data") if held_out_of_fluency_model(f"wiki:{title}")
    ]
    return [normalize.normalize(t) for t in texts if len(t) > 300][:20]


def test_ngram_model_is_a_distribution_and_survives_a_file(shared: Path, tmp_path: Path) -> None:
    lines = [line for _, line in zip(range(800), reference_lines(shared / "data"), strict=False)]
    model = CharNgramModel.train(lines, order=3)
    vocabulary = [chr(c) for c in model.chars] + ["\n", "\x01"]  # \x01: the unknown id
    for context in ("中国", "qq"):
        total = sum(np.exp(model.log_probs(context + c)[len(context)]) for c in vocabulary)
        assert total == pytest.approx(1.0, abs=1e-4)
    model.save(tmp_path / "m.npz")
    again = CharNgramModel.load(tmp_path / "m.npz")
    text = lines[-1] + "\n" + lines[-2]
    assert np.array_equal(model.log_probs(text), again.log_probs(text))


def test_fluency_ranks_prose_below_spun_text_and_link_farms(
    held_out_wiki: list[str], shared: Path, normalize: Normalize
) -> None:
    step = Fluency()
    step.ensure_setup()
    rng = random.Random(0)
    for text in held_out_wiki[:10]:
        words = list(text)
        rng.shuffle(words)  # the same characters, no longer a sentence
        prose, spun = Document("p", text, "t"), Document("s", "".join(words), "t")
        assert step.keep(prose) is True and step.keep(spun) is True  # scores only by default
        assert prose.meta["fluency"]["perplexity"] * 3 < spun.meta["fluency"]["perplexity"]
    # a collage: one line of the real seed page's link farm inside held-out prose
    seed = normalize.normalize((shared / "samples" / "seed_page.txt").read_text("utf-8"))
    farm = next(line for line in seed.splitlines() if line.startswith("友情链接"))
    clean = Document("c", "\n".join(held_out_wiki[10:13]), "t")
    collage = Document("x", "\n".join([*held_out_wiki[10:12], farm, held_out_wiki[12]]), "t")
    step.keep(clean)
    step.keep(collage)
    c, x = clean.meta["fluency"], collage.meta["fluency"]
    assert x["line_perplexity_max"] > 3 * c["line_perplexity_max"]
    assert x["line_log_perplexity_std"] > c["line_log_perplexity_std"]
    assert x["high_perplexity_line_fraction"] > c["high_perplexity_line_fraction"]


def test_fluency_alone_removes_gibberish_with_its_reason(held_out_wiki: list[str]) -> None:
    step = Fluency(remove=True)
    step.ensure_setup()
    rng = random.Random(1)
    chars = list(held_out_wiki[0])
    rng.shuffle(chars)
    assert step.keep(Document("p", held_out_wiki[0], "t")) is True
    assert step.keep(Document("s", "".join(chars), "t")) == "low_quality:perplexity"
