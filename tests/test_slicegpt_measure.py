"""Perplexity, the probe and FLOPs on tiny models, checked against hand computations."""

import math

import numpy as np
import pytest
import torch

from deletionlab.slicegpt import measure
from deletionlab.slicegpt.data import ProbeItem
from deletionlab.slicegpt.tiny import TINY, tiny_model, train_tokenizer

V = TINY["vocab"]


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", seed=3)


def test_uniform_logits_give_perplexity_equal_to_the_vocabulary(model):
    m = tiny_model("llama", seed=3)
    with torch.no_grad():
        m.lm_head.weight = torch.nn.Parameter(torch.zeros_like(m.lm_head.weight))  # every logit 0 → p = 1/V
    windows = torch.randint(3, V, (3, 17), generator=torch.Generator().manual_seed(0))
    nll = measure.window_nll(m, windows, batch=2)
    assert np.allclose(nll, math.log(V), atol=1e-5)
    assert measure.perplexity(nll) == pytest.approx(V, rel=1e-4)


def test_window_nll_matches_a_token_by_token_computation(model):
    windows = torch.randint(3, V, (2, 12), generator=torch.Generator().manual_seed(1))
    got = measure.window_nll(model, windows, batch=1)
    with torch.no_grad():
        for w, g in zip(windows, got):
            logp = torch.log_softmax(model(input_ids=w[None]).logits[0].double(), -1)
            want = -np.mean([float(logp[t, w[t + 1]]) for t in range(len(w) - 1)])
            assert g == pytest.approx(want, abs=1e-5)


def test_paired_log_ratio_by_hand():
    r = measure.paired_log_ratio([1.0, 2.0, 3.0], [1.5, 2.5, 3.1])
    d = np.array([0.5, 0.5, 0.1])
    assert r["log_ratio"] == pytest.approx(d.mean()) and r["ratio"] == pytest.approx(math.exp(d.mean()))
    assert r["se"] == pytest.approx(d.std(ddof=1) / math.sqrt(3))
    acc = measure.paired_accuracy([1, 1, 0, 1], [1, 0, 0, 1])
    assert acc["acc_a"] == 0.75 and acc["acc_b"] == 0.5 and acc["kept"] == pytest.approx(2 / 3) and acc["diff"] == -0.25


def test_batched_padded_probe_scores_like_one_choice_at_a_time(model):
    tok = train_tokenizer(["the cat sat on the mat and the dog ran in the park"] * 20 + ["a quick brown fox jumps over a lazy dog"] * 20)
    items = [ProbeItem("the cat sat", ("on the mat", "in the park today and then", "fox", "a lazy dog jumps"), 0),
             ProbeItem("a quick brown", ("fox jumps over", "the mat", "dog ran in the park and", "cat"), 2)]
    got = measure.probe(model, tok, items, items_per_batch=2)
    want = []
    with torch.no_grad():
        for item in items:
            pre = tok(item.prefix, add_special_tokens=False)["input_ids"]
            scores = []
            for c in item.choices:
                cont = tok(" " + c, add_special_tokens=False)["input_ids"]
                logp = torch.log_softmax(model(input_ids=torch.tensor([pre + cont])).logits[0], -1)
                scores.append(np.mean([float(logp[len(pre) - 1 + i, t]) for i, t in enumerate(cont)]))
            want.append(int(np.argmax(scores) == item.answer))
    assert got.tolist() == want


def test_flops_of_a_dense_tiny_llama_by_hand(model):
    D, F, L, n = TINY["hidden"], TINY["ffn"], TINY["layers"], 10
    per_block = 2 * (D * D + 2 * D * D // 2 + D * D + 3 * D * F)
    f = measure.flops_per_token(model, context=n)
    assert f["linear"] == L * per_block and f["head"] == 2 * D * V and f["shortcuts"] == 0
    assert f["attention"] == L * 2 * 2 * n * D and f["total"] == f["linear"] + f["head"] + f["attention"]


def test_generation_and_latency_run_on_a_tiny_model(model):
    assert measure.decode_latency(model, batch=2, prompt=4, new=3, repeats=1) > 0
