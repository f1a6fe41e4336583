"""`mdfs compare`'s verdict table on two runs' figures worked by hand."""

from __future__ import annotations

from mdfs.train.compare import format_comparison


def run(corpus: str, loss: float, tnews: tuple[float, float, float]) -> dict:
    score, stderr, above_chance = tnews
    return {
        "corpus": corpus,
        "split": {"train": 90, "heldout": 10},
        "summary": {
            "tokens": 4096,
            "heldout": {
                name: {"tokens": 512, "loss": loss, "bits_per_char": loss / 2}
                for name in ("reference", "A", "B")
            },
        },
        "eval": {
            "tasks": {
                "csldcp": {"score": 0.0, "stderr": 0.0, "above_chance": 0.0},
                "eprstmt": {"score": 0.55, "stderr": 0.04, "above_chance": 1.2},
                "tnews": {"score": score, "stderr": stderr, "above_chance": above_chance},
            },
            "average": {"score": 0.5, "stderr": 0.02, "above_chance": 0.4},
        },
    }


def test_differences_within_noise_are_marked_and_z_shown_for_both() -> None:
    runs = {"A": run("raw", 6.0, (0.10, 0.01, 0.5)), "B": run("filtered", 5.5, (0.20, 0.012, 9.8))}
    lines = format_comparison(runs).splitlines()
    reference = next(line for line in lines if line.startswith("reference"))
    assert reference.split() == [
        "reference",
        "512",
        "6.0000",
        "5.5000",
        "-0.5000",
        "3.000",
        "2.750",
    ]
    rows = {
        line.split()[0]: line.split()
        for line in lines
        if line.startswith(("csldcp", "eprstmt", "tnews", "average"))
    }
    # Equal scores: within noise. TNEWS: 0.10 apart, eight times the difference's error.
    assert rows["eprstmt"] == ["eprstmt", "0.5500", "±", "0.040", "+1.2", "0.5500", "±", "0.040",
                               "+1.2", "+0.0000", "~"]  # fmt: skip
    assert rows["tnews"] == ["tnews", "0.1000", "±", "0.010", "+0.5", "0.2000", "±", "0.012",
                             "+9.8", "+0.1000"]  # fmt: skip
    assert rows["average"][-1] == "~"
    assert rows["csldcp"][-1] == "~"  # both wrong on every example: no difference at all
    assert any(line.startswith("A held out") for line in lines)
