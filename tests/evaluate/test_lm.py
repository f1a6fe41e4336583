"""The harness's log-likelihoods against a direct computation from the model's logits."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

PAIRS = [
    ("评论：物流很快，包装完好。\n买家对这件商品", "满意"),
    ("评论：差\n买家对这件商品", "不满意"),
    ("村里还有一个土地庙？", "也许，村里只有一个土地庙"),
    ("有时候我给你", "雪中送炭,但你却愿我家破人亡?"),
    ("短", "很长很长的一段续写文字，用来检验左侧填充时位置编号是否正确。"),
]


def direct_logprob(lm, context: str, continuation: str) -> float:
    """Sum of log P(token) over the continuation, from one unpadded forward pass."""
    context_ids = lm.start_ids + lm.encode(context)
    continuation_ids = lm.encode(continuation)
    ids = torch.tensor([context_ids + continuation_ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(lm.model(ids).logits[0].float(), dim=-1)
    # The logits at position t predict token t + 1.
    positions = range(len(context_ids) - 1, ids.shape[1] - 1)
    return sum(float(logprobs[p, ids[0, p + 1]]) for p in positions)


def test_batched_scores_match_direct_computation(tiny_lm) -> None:
    scores = tiny_lm.loglikelihood(PAIRS)
    for (context, continuation), score in zip(PAIRS, scores, strict=True):
        assert score.tokens == len(tiny_lm.encode(continuation))
        assert score.logprob == pytest.approx(
            direct_logprob(tiny_lm, context, continuation), abs=1e-4
        )


def test_batch_size_does_not_change_scores(tiny_lm) -> None:
    from mdfs.evaluate.lm import CausalLM

    one_by_one = CausalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=1)
    for a, b in zip(tiny_lm.loglikelihood(PAIRS), one_by_one.loglikelihood(PAIRS), strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)


def test_shared_context_scores_match_direct_computation(tiny_lm) -> None:
    context = "新闻标题：为什么过去人都想当兵，现在农村兵却越来越少？\n这是一则"
    words = ["军事", "农业", "三农", "故事", "体", "房地产"]
    scores = tiny_lm.loglikelihood_shared_context(context, words)
    for word, score in zip(words, scores, strict=True):
        assert score.logprob == pytest.approx(direct_logprob(tiny_lm, context, word), abs=1e-4)
    # And the same numbers through independent pairs.
    pairs = tiny_lm.loglikelihood([(context, w) for w in words])
    assert [s.logprob for s in scores] == pytest.approx([s.logprob for s in pairs], abs=1e-4)


def test_long_context_keeps_its_end(tiny_lm) -> None:
    from mdfs.evaluate.lm import CausalLM

    short = CausalLM(tiny_lm.model, tiny_lm.tokenizer, batch_size=2, max_length=16)
    context, continuation = "一二三四五六七八九十" * 3, "满意"
    got = short.loglikelihood([(context, continuation)])[0].logprob
    shared = short.loglikelihood_shared_context(context, [continuation])[0].logprob
    # 16 positions: the continuation's 2 tokens and the context's last 14 (start token dropped).
    ids = torch.tensor([short.encode(context)[-14:] + short.encode(continuation)])
    with torch.no_grad():
        logprobs = torch.log_softmax(short.model(ids).logits[0], dim=-1)
    want = float(logprobs[13, ids[0, 14]] + logprobs[14, ids[0, 15]])
    assert got == pytest.approx(want, abs=1e-4)
    assert shared == pytest.approx(want, abs=1e-4)
