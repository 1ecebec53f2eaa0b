"""LiRA, its metrics, requesters, the simulator and a dask LocalCluster shadow sweep."""

import math

import numpy as np
import pytest

from deletionlab.core.jobs import Cancelled, CancelToken, UserError
from deletionlab.unlearning.accounting import exact_ridge_divergence, gaussian_renyi, noisy_gd_bound, ridge_lipschitz
from deletionlab.unlearning.attack import ShadowStats, metrics
from deletionlab.unlearning.data import load
from deletionlab.unlearning.learners import Hyper, make
from deletionlab.unlearning.models import Task, balanced_masks
from deletionlab.unlearning.simulate import REQUESTERS, Config, aggregate, run, sweep_seeds


def test_lira_finds_planted_members():
    """Records whose statistic is shifted by +2 when IN: the target's members must score high."""
    rng = np.random.default_rng(0)
    n, M = 400, 32
    base = rng.normal(0, 3, n)  # per-record difficulty, which LiRA must factor out
    masks = balanced_masks(n, M, rng)
    S = base + 2.0 * masks + rng.normal(0, 0.5, (M, n))
    member = rng.random(n) < 0.5
    target = base + 2.0 * member + rng.normal(0, 0.5, n)
    st = ShadowStats.fit(S, masks)
    ids = np.arange(n)
    for online in (True, False):
        sc = st.score(target, ids, online=online)
        m = metrics(sc[member], sc[~member])
        assert m.auc > 0.95
        assert m.tpr[0.01] > 0.3
    # a naive threshold on the raw statistic is much weaker (difficulty dominates)
    assert metrics(target[member], target[~member]).auc < 0.8
    # and with no membership effect LiRA is at chance
    sc0 = ShadowStats.fit(base + rng.normal(0, 0.5, (M, n)), masks).score(base + rng.normal(0, 0.5, n), ids)
    assert abs(metrics(sc0[member], sc0[~member]).auc - 0.5) < 0.1


def test_metrics_tpr_at_fpr_by_hand():
    pos = np.array([10.0, 9.0, 1.0, 0.5])
    neg = np.arange(100) / 100.0  # 0.00 .. 0.99
    m = metrics(pos, neg)
    assert m.tpr[0.001] == pytest.approx(3 / 4)  # 10, 9 and 1.0 beat every negative
    # AUC by counting pairs: three positives beat all 100; 0.5 beats 50 and ties one (counts ½)
    assert m.auc == pytest.approx((3 * 100 + 50.5) / 400)
    assert m.min_fpr == pytest.approx(0.01)


def test_requesters_pick_present_members():
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    lr = make("retrain", task, Hyper(), outsiders=ds.outsiders)
    rel = lr.fit(ds.members)
    rng = np.random.default_rng(0)
    conf = task.confidence(rel.params)
    for name, fn in REQUESTERS.items():
        ids = fn(task, rel, 7, rng)
        assert len(ids) == 7 and len(set(ids)) == 7 and np.isin(ids, rel.present).all(), name
    top = REQUESTERS["confident"](task, rel, 7, rng)
    low = REQUESTERS["misclassified"](task, rel, 7, rng)
    assert conf[top].min() >= np.sort(conf[rel.present])[-7]
    assert conf[low].max() <= np.sort(conf[rel.present])[6]


def test_simulation_tracks_every_release_and_deleted_record():
    cfg = Config(releases=3, per_release=4, shadows=8, learners=("retrain", "noisy_gd"),
                 hyper=Hyper(k_learn=50, k_unlearn=5))
    res = run(cfg)
    for key, r in res.runs.items():
        assert [x["t"] for x in r.releases] == [0, 1, 2, 3]
        deleted = [i for x in r.releases for i in x["deleted"]]
        assert len(deleted) == len(set(deleted)) == 12
        assert [s["id"] for s in r.deleted_scores] == deleted
        assert r.releases[-1]["n_present"] == res.n_members - 12
        assert r.releases[3]["attacks"]["single_online"]["n_pos"] == 12
        assert 0 <= r.releases[3]["attacks"]["single_online"]["auc"] <= 1
        assert r.roc["single_online"]["fpr"][0] == 0


def test_simulation_input_errors():
    with pytest.raises(UserError, match="Zero releases"):
        run(Config(releases=0))
    with pytest.raises(UserError, match="holds only"):
        run(Config(releases=40, per_release=10))
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        run(Config(releases=2, shadows=8), cancel=tok)


def test_sigma_zero_runs_with_a_note():
    res = run(Config(releases=1, shadows=8, learners=("caching",), hyper=Hyper(sigma=0.0)))
    assert any("σ = 0" in n for n in res.notes)


def test_dask_localcluster_seed_sweep():
    distributed = pytest.importorskip("distributed")
    cfg = Config(releases=2, per_release=3, shadows=8, learners=("retrain",))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        out = sweep_seeds(cfg, [0, 1], client=client)
    local = sweep_seeds(cfg, [0, 1], backend="threads", max_workers=1)
    assert len(out) == 2
    np.testing.assert_allclose(out[1]["retrain"]["single_online_auc"], local[1]["retrain"]["single_online_auc"])
    agg = aggregate(out)
    assert agg["retrain"]["accuracy"]["n"] == 2


def test_gaussian_renyi_one_dimensional_closed_form():
    # D_α(N(μ1,s1²)‖N(μ2,s2²)) = ln(s2/s1) + ln(s2²/s_α²)/(2(α−1)) + α(μ1−μ2)²/(2 s_α²), s_α² = α s2² + (1−α) s1²
    m1, s1, m2, s2, a = 0.3, 1.1, -0.2, 1.3, 3.0
    sa2 = a * s2 ** 2 + (1 - a) * s1 ** 2
    ref = math.log(s2 / s1) + math.log(s2 ** 2 / sa2) / (2 * (a - 1)) + a * (m1 - m2) ** 2 / (2 * sa2)
    got = gaussian_renyi(np.array([m1]), np.array([[s1 ** 2]]), np.array([m2]), np.array([[s2 ** 2]]), a)
    assert got == pytest.approx(ref, rel=1e-10)
    # numerical integration of the definition as an independent check
    x = np.linspace(-15, 15, 200001)
    p = np.exp(-(x - m1) ** 2 / (2 * s1 ** 2)) / (s1 * math.sqrt(2 * math.pi))
    q = np.exp(-(x - m2) ** 2 / (2 * s2 ** 2)) / (s2 * math.sqrt(2 * math.pi))
    num = math.log(np.trapezoid(p ** a * q ** (1 - a), x)) / (a - 1)
    assert got == pytest.approx(num, rel=1e-6)


def test_exact_divergence_shrinks_with_unlearning_and_stays_under_the_bound():
    ds = load("diabetes")
    h = Hyper(lam=0.05, sigma=0.05, k_learn=200)
    eta = 1 / (2 + h.lam)
    d = exact_ridge_divergence(ds.X, ds.y, ds.members, ds.members[:1], lam=h.lam, sigma=h.sigma, eta=eta,
                               k_learn=h.k_learn, k_unlearn=60)
    assert d[0] > 0 and np.all(np.diff(d) < 0)
    b = noisy_gd_bound(np.arange(61), alpha=2, sigma=h.sigma, eta=eta, lam=h.lam,
                       lipschitz=ridge_lipschitz(ds.X, ds.y, ds.members, h), n=len(ds.members), smooth=2 + h.lam)
    assert np.all(b >= d)
    assert noisy_gd_bound([1], alpha=2, sigma=0, eta=eta, lam=h.lam, lipschitz=1, n=10) is None


def test_accumulation_only_averaging_fresh_noise_changes_anything():
    from deletionlab.unlearning.simulate import accumulation

    out = accumulation(batch=12, releases=4, shadows=8, seeds=(0,))
    for key in ("retrain", "noisy_gd"):  # their later releases repeat: averaging adds nothing
        np.testing.assert_allclose(out[key]["average"]["mean"], out[key]["single"]["mean"][:1] * 4, atol=1e-9)
    c = out["caching"]
    assert c["average"]["mean"][0] == pytest.approx(c["single"]["mean"][0])
    assert not np.allclose(c["average"]["mean"][1:], c["single"]["mean"][1:])


def test_empty_request_republishes_for_free():
    ds = load("digits_3v8")
    task = Task.from_dataset(ds)
    for key in ("noisy_gd", "caching"):
        lr = make(key, task, Hyper(k_learn=20))
        first = lr.fit(ds.members)
        again = lr.delete([])
        assert again.cost == 0 and len(again.present) == len(first.present)
        same = bool((again.params == first.params).all())
        assert same == (key == "noisy_gd")


def test_bound_for_a_sequence_of_requests():
    kw = dict(alpha=2.0, sigma=0.1, eta=0.5, lam=0.05, lipschitz=1.0, n=200)
    ks = np.arange(0, 200, 20)
    one = noisy_gd_bound(ks, **kw)
    np.testing.assert_allclose(one, np.exp(-0.05 * 0.5 * ks / 2) * 4 * 2 / (0.05 * 0.01 * 200 ** 2))
    three = noisy_gd_bound(ks, **kw, requests=3)
    assert np.all(three > one) and np.all(np.diff(three) < 0)
    with pytest.raises(UserError):
        noisy_gd_bound(ks, **kw, requests=0)
