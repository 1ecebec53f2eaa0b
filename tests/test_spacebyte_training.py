"""Corpora and splits, the learning-rate schedule, bits per byte, budgets, resuming, the tournament and its report."""

import math

import numpy as np
import pytest
import torch

from deletionlab.core.jobs import CancelToken, UserError
from deletionlab.spacebyte import data as D
from deletionlab.spacebyte.experiment import ExperimentConfig, Stage, frontier, paired, run_experiment
from deletionlab.spacebyte.models import ModelConfig, build
from deletionlab.spacebyte.report import compare, summary, verdict_less
from deletionlab.spacebyte.training import TrainConfig, evaluate, lr_factor, plan, train


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TINY = ModelConfig("spacebyte", d_model=32, n_layers=1, d_key=16, patch=6)  # T = 192, T_global = 32
FAST = TrainConfig(budget=3e8, batch_bytes=384, lr=0.05, val_bytes=2048)


def test_splits_depend_on_names_only_and_hold_about_a_tenth():
    names = [f"bbc/x/{i:03d}.txt" for i in range(2000)]
    val = [n for n in names if D.is_validation(n)]
    assert val == [n for n in reversed(names) if D.is_validation(n)][::-1]
    assert 0.08 < len(val) / len(names) < 0.12
    docs = D.documents("prose")
    assert len(docs) == 2225
    tr, va = D.split("prose", "train"), D.split("prose", "validation")
    assert len(tr) + len(va) == 2225 and not {n for n, _ in tr} & {n for n, _ in va}


def test_streams_separate_documents_with_bos_and_the_tokenizer_round_trips():
    s = D.byte_stream("prose", "validation")
    assert s[0] == 255 and (s == 255).sum() == len(D.split("prose", "validation"))
    tok = D.load_tokenizer("prose")
    text = "Prime Minister — café, 漢字 😀\n\tdef f(x): return x"
    assert tok.decode(tok.encode(text).ids) == text
    assert 3.0 < D.bytes_per_token("prose") < 5.0


def test_learning_rate_warms_up_over_one_percent_then_decays_as_half_a_cosine():
    steps = 1000
    assert lr_factor(0, steps) == pytest.approx(0.1)  # 1/10 of the 10 warm-up steps
    assert lr_factor(9, steps) == pytest.approx(math.cos(0.5 * math.pi * 9 / 1000))
    assert lr_factor(500, steps) == pytest.approx(math.cos(math.pi / 4))
    assert lr_factor(999, steps) < 0.002


def test_a_model_that_knows_nothing_scores_eight_bits_per_byte():
    m = build(TINY, seed=0)
    with torch.no_grad():
        m.head.linear.weight.zero_()  # uniform over 256 byte values
    ev = evaluate(m, "prose", 3000)
    assert ev["bpb"] == pytest.approx(8.0, abs=1e-5)
    assert ev["items"] == ev["bytes"]  # every byte scored once, although SpaceByte cuts windows at T_global


def test_uniform_subword_model_scores_log2_v_bits_per_token():
    V = D.load_tokenizer("prose").get_vocab_size()
    m = build(ModelConfig("subword", d_model=32, n_layers=1, d_key=16, vocab=V), seed=0)
    with torch.no_grad():
        m.embed.weight.zero_()  # tied output layer: uniform logits
    ev = evaluate(m, "prose", 3000)
    assert ev["bpb"] == pytest.approx(math.log2(V) * ev["items"] / ev["bytes"], rel=1e-5)


def test_a_budget_too_small_to_train_is_named():
    with pytest.raises(UserError, match="budget must be at least"):
        plan(TINY, TrainConfig(budget=1e6, batch_bytes=384))
    with pytest.raises(UserError, match="positive number"):
        plan(TINY, TrainConfig(budget=float("nan")))


def test_training_lowers_bits_per_byte_and_a_cancelled_run_resumes_to_the_same_model(tmp_path):
    _, full = train(TINY, "prose", FAST)
    assert full["bpb"] < 7.0 and full["steps"] >= 10
    assert full["flops"] <= FAST.budget
    ck = tmp_path / "run.ckpt"
    token = CancelToken()

    def stop_halfway(done, total, note=""):
        if done == total // 2:
            token.cancel()

    from deletionlab.core.jobs import Cancelled

    with pytest.raises(Cancelled):
        train(TINY, "prose", FAST, progress=stop_halfway, cancel=token, checkpoint=ck, checkpoint_every=0.0)
    assert ck.exists()
    _, resumed = train(TINY, "prose", FAST, checkpoint=ck)
    assert resumed["bpb"] == pytest.approx(full["bpb"], abs=1e-5)


def test_small_tournament_is_resumable_and_pairs_seeds(tmp_path):
    cfg = ExperimentConfig(stages=(Stage("prose", 3e8, ("XS",), seeds=2),), archs=("spacebyte", "megabyte"),
                           batch_bytes=384, val_bytes=2048)
    from deletionlab.spacebyte import experiment as E

    E.SIZES["XS"], old = (32, 1), E.SIZES["XS"]
    try:
        res = run_experiment(cfg, workdir=tmp_path)
        again = run_experiment(cfg, workdir=tmp_path)  # every run is read back, nothing retrained
    finally:
        E.SIZES["XS"] = old
    assert len(res["runs"]) == 4 and again["frontier"] == res["frontier"]
    (p,) = [x for x in res["paired"] if (x["a"], x["b"]) == ("spacebyte", "megabyte")]
    sb, mb = res["frontier"]["prose"]["3e+08"]["spacebyte"], res["frontier"]["prose"]["3e+08"]["megabyte"]
    assert p["values"] == pytest.approx([sb[s]["bpb"] - mb[s]["bpb"] for s in ("0", "1")])
    assert p["se"] > 0


def _fake(offsets: dict) -> dict:
    """Results of three seeds whose frontier bits per byte are 3.0 + 0.1·seed + the given offsets."""
    records = [{"corpus": "prose", "budget": 1e12, "arch": arch, "size": "S", "seed": seed, "bpb": 3.0 + 0.1 * seed + off[seed]}
               for seed in range(3) for arch, off in offsets.items()]
    front = frontier(records)
    means = {"prose": {"1e+12": {a: {"mean": float(np.mean([v["bpb"] for v in s.values()])), "se": 0.01, "n": 3}
                                 for a, s in front["prose"]["1e+12"].items()}}}
    return {"frontier": front, "frontier_mean": means, "paired": paired(front), "patches": {}}


def test_verdicts_follow_the_paired_differences_and_say_how_the_threshold_moves_them():
    res = _fake({"byte": [0.0, 0.0, 0.0], "spacebyte": [-0.30, -0.28, -0.33], "megabyte": [-0.30, -0.18, -0.27],
                 "subword": [-0.30, -0.28, -0.34]})
    rows = {r.claim.split(" (")[0]: r for r in compare(res)}
    assert rows["SpaceByte has lower bits per byte than the byte Transformer at equal compute"].verdict == "agrees"
    mb = rows["SpaceByte has lower bits per byte than the MegaByte at equal compute"]
    assert mb.verdict.startswith("not resolved") and "agrees at 1 s.e." in mb.verdict  # Δ = -0.053 ± 0.029
    assert rows["SpaceByte roughly matches the subword Transformer"].verdict.startswith("agrees")
    assert verdict_less(0.5, 0.1) == "disagrees" and verdict_less(-0.1, None) == "one seed: no verdict"
    lines = summary(res)
    assert "that is the paper's order (SpaceByte < MegaByte < byte Transformer)" in lines[0]
    assert lines[-1].startswith("Of 3 seed-paired claims") and "2 agree" in lines[-1]
