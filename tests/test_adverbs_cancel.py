"""Every adverb job stops within a second of cancel (issue 18): the experiment (the study's longest
job) while tagging and while fitting, the embeddings, the data-set coverage, and one head fit."""

import threading
import time

import numpy as np
import pytest

from deletionlab.adverbs.data import load_tweets
from deletionlab.adverbs.experiment import ExperimentConfig, fit_head, run_experiment
from deletionlab.adverbs.explore import summarize_dataset
from deletionlab.adverbs.tagger import Tagger
from deletionlab.core import CancelToken
from deletionlab.core.jobs import Cancelled

LIMIT_S = 1.0  # the promise: a job stops within a second of cancel
AFTER_S = 0.4  # cancel this long after the phase under test has begun


@pytest.fixture(scope="module")
def tagger():
    return Tagger()


@pytest.fixture(scope="module")
def tweets():
    return load_tweets()


def fake_embed(texts, progress=None, cancel=None):
    """Instant stand-in for MiniLM (a fixed random unit vector per text), so the fit phase comes quickly."""
    out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]) if texts else np.zeros((0, 384))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def latency(job, phase: str) -> float:
    """Run ``job(progress=, cancel=)`` in a thread, cancel AFTER_S after a progress note starting with
    ``phase``, and return the seconds from the cancel to the job raising :class:`Cancelled`."""
    token, times, outcome = CancelToken(), {}, {}

    def cancel_later():
        time.sleep(AFTER_S)
        times["cancel"] = time.perf_counter()
        token.cancel()

    def progress(done, total, note=""):
        if note.startswith(phase) and "timer" not in times:
            times["timer"] = threading.Thread(target=cancel_later, daemon=True)
            times["timer"].start()

    def run():
        try:
            job(progress=progress, cancel=token)
            outcome["finished"] = True
        except Cancelled:
            outcome["cancelled"] = time.perf_counter()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=300)
    assert "timer" in times, f"the job never reported the phase {phase!r}"
    assert "cancelled" in outcome, f"the job did not stop with Cancelled ({outcome})"
    return outcome["cancelled"] - times["cancel"]


def test_experiment_stops_within_a_second_while_tagging(tagger, tweets):
    cfg = ExperimentConfig(n_train=6000, n_test=2000, seeds=2)  # tagging 8,000 tweets takes tens of seconds
    assert latency(lambda **kw: run_experiment(cfg, data=tweets, tagger=tagger, embed=fake_embed, **kw), "tagging") < LIMIT_S


def test_experiment_stops_within_a_second_while_fitting(tagger, tweets):
    cfg = ExperimentConfig(n_train=400, n_test=100, seeds=10, head="mlp")  # 400 MLP fits: minutes
    assert latency(lambda **kw: run_experiment(cfg, data=tweets, tagger=tagger, embed=fake_embed, **kw), "fit") < LIMIT_S


def test_coverage_stops_within_a_second_while_tagging(tagger, tweets):
    assert latency(lambda **kw: summarize_dataset(tweets, 20_000, tagger=tagger, **kw), "tagging") < LIMIT_S


def test_embedding_stops_within_a_second():
    from deletionlab.adverbs.similarity import embedder

    emb = embedder()
    texts = [f"Paragraph {i}: " + "the markets rallied strongly again " * 40 for i in range(400)]  # 256 tokens each

    def job(progress, cancel):
        progress(0, 1, "embedding")
        emb(texts, cancel=cancel)

    assert latency(job, "embedding") < LIMIT_S


@pytest.mark.parametrize("head", ["logreg", "mlp"])
def test_one_head_fit_stops_within_a_second(head):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40_000, 384)).astype(np.float32)
    y = (X[:, :3] @ np.ones(3) + rng.normal(size=40_000) > 0).astype(int) + (X[:, 3] > 1)
    fit_head(head, X[:50], y[:50])  # imports scikit-learn (seconds on a busy machine) before the measurement

    def job(progress, cancel):
        progress(0, 1, "fit")
        fit_head(head, X, y, seed=0, cancel=cancel)
        if head == "logreg":  # logistic regression may converge before the cancel: make it fit again
            while True:
                fit_head(head, X, y[::-1].copy(), seed=0, cancel=cancel)

    assert latency(job, "fit") < LIMIT_S
