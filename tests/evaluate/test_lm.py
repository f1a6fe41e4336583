"""The harness's log-likelihoods against a direct computation from the model's logits."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

PAIRS = [
    ("评论：物流很快，包装完好。\n买家对这件商品", "满意"),
    ("评论：差\n买家对这件商品", "不满意"),
    ("村里还有一个土地庙？", "也许，村里只有一个土地庙"),
    ("有时候我给你", "雪中送炭,但你却愿我家破人亡?"),
    ("短", "很长很长的一段续写文字，用来检验左侧填充时位置编号是否正确。"),
]
# Batched and one-by-one scores differ only by float32 rounding (sums in other orders).
PER_TOKEN = 1e-5


def one_by_one(lm, context: list[int], continuation: list[int]) -> float:
    """Sum of log P(token) over the continuation, from one unpadded forward pass of the whole
    model (its own logits, no cache) over the context and the continuation."""
    ids = torch.tensor([context + continuation])
    with torch.no_grad():
        logprobs = torch.log_softmax(lm.model(ids).logits[0].float(), dim=-1)
    # The logits at position t predict token t + 1.
    positions = range(len(context) - 1, ids.shape[1] - 1)
    return sum(float(logprobs[p, ids[0, p + 1]]) for p in positions)


def assert_one_by_one(lm, items: list[tuple[str, list[str]]], scores) -> None:
    for (context, continuations), row in zip(lm.encode_items(items), scores, strict=True):
        continuations = [c[: lm.max_length - 1] for c in continuations]
        # The start token, then the context cut once for all candidates: the longest fits.
        context = (lm.start_ids + context)[-(lm.max_length - max(map(len, continuations))) :]
        for continuation, score in zip(continuations, row, strict=True):
            assert score.tokens == len(continuation)
            want = one_by_one(lm, context, continuation)
            assert score.logprob == pytest.approx(want, abs=PER_TOKEN * len(continuation))


def test_scores_match_direct_computation(tiny_lm) -> None:
    items = [(context, [continuation]) for context, continuation in PAIRS]
    scores = tiny_lm.score(items)
    assert_one_by_one(tiny_lm, items, scores)
    for (_, continuation), [score] in zip(PAIRS, scores, strict=True):
        assert score.tokens == len(tiny_lm.encode(continuation))


def test_batch_size_does_not_change_scores(tiny_lm) -> None:
    from mdfs.evaluate.lm import CausalLM

    items = [(context, [continuation, "满意"]) for context, continuation in PAIRS]
    alone = CausalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=1).score(items)
    for a, b in zip(tiny_lm.score(items), alone, strict=True):
        assert [s.logprob for s in a] == pytest.approx([s.logprob for s in b], abs=1e-4)


def test_shared_context_scores_match_direct_computation(tiny_lm) -> None:
    context = "新闻标题：为什么过去人都想当兵，现在农村兵却越来越少？\n这是一则"
    words = ["军事", "农业", "三农", "故事", "体", "房地产"]
    items = [(context, words)]
    assert_one_by_one(tiny_lm, items, tiny_lm.score(items))


def test_batched_equals_one_by_one_on_fewclue(tiny_lm, clue_dir: Path) -> None:
    """Real prompts of every kind, long and short, batched with padding on both sides and
    contexts cut to the model's length, against each candidate scored alone."""
    from mdfs.evaluate.lm import CausalLM
    from mdfs.evaluate.task import load_examples, load_task

    items = []
    for name in ("iflytek", "tnews", "chid", "csl", "ocnli"):
        task = load_task(name)
        for example in load_examples(clue_dir, name, "dev")[:4]:
            if task.kind == "classification":
                candidates = [word for c in task.classes for word in c.words][:10]
            else:
                candidates = task.candidates(example)
            items.append((task.render_context(example), candidates))
    short = CausalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=8, max_length=96)
    assert_one_by_one(short, items, short.score(items))


def test_long_context_keeps_its_end(tiny_lm) -> None:
    from mdfs.evaluate.lm import CausalLM

    short = CausalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=2, max_length=16)
    context, continuation = "一二三四五六七八九十" * 3, "满意"
    [[got]] = short.score([(context, [continuation])])
    # 16 positions: the continuation's 2 tokens and the context's last 14 (start token dropped).
    ids = torch.tensor([short.encode(context)[-14:] + short.encode(continuation)])
    with torch.no_grad():
        logprobs = torch.log_softmax(short.model(ids).logits[0], dim=-1)
    want = float(logprobs[13, ids[0, 14]] + logprobs[14, ids[0, 15]])
    assert got.logprob == pytest.approx(want, abs=1e-4)


def test_tokens_as_they_fall_after_the_context(tiny_lm) -> None:
    """Continuations are tokenised behind the context's tail, in one batch, as one by one."""
    items = [(context, [continuation, "满意"]) for context, continuation in PAIRS]
    for (context, continuations), (context_ids, ids) in zip(
        items, tiny_lm.encode_items(items), strict=True
    ):
        assert context_ids == tiny_lm.encode(context)
        tail = tiny_lm.encode(context[-16:])
        for continuation, got in zip(continuations, ids, strict=True):
            assert tiny_lm.encode(context[-16:] + continuation) == tail + got
