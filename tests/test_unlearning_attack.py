"""LiRA and its metrics."""

import numpy as np
import pytest

from deletionlab.unlearning.attack import ShadowStats, metrics
from deletionlab.unlearning.models import balanced_masks


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


def test_lira_scores_use_the_normal_log_density_and_log_cdf():
    """The attack's closed-form normal log-density and log-CDF are scipy.stats.norm's."""
    from scipy import stats

    rng = np.random.default_rng(5)
    st = ShadowStats(rng.normal(size=6), rng.normal(size=6), rng.uniform(0.1, 2, 6), rng.uniform(0.1, 2, 6))
    ids, s = np.array([0, 2, 5, 5]), rng.normal(size=4) * 3
    online = stats.norm.logpdf(s, st.mu_in[ids], st.sd_in[ids]) - stats.norm.logpdf(s, st.mu_out[ids], st.sd_out[ids])
    np.testing.assert_allclose(st.score(s, ids, online=True), online, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(st.score(s, ids, online=False), stats.norm.logcdf((s - st.mu_out[ids]) / st.sd_out[ids]), rtol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_the_drawn_roc_curve_is_scikit_learns(weighted):
    """The dashboard draws the ROC from stored scores without scikit-learn; its points are
    sklearn.metrics.roc_curve's, ties and weighted negatives included."""
    from sklearn.metrics import roc_curve

    from deletionlab.unlearning.attack import Scores
    from deletionlab.unlearning.dashboard import roc_at

    rng = np.random.default_rng(7)
    pos, neg = np.round(rng.normal(0.5, 1, 40), 1), np.round(rng.normal(0, 1, 60), 1)  # rounded: many ties
    weight = rng.uniform(0.2, 2, 60) if weighted else None
    fpr, tpr = roc_at(Scores(np.arange(40), pos, np.arange(60), neg, weight))
    y = np.r_[np.ones(40), np.zeros(60)]
    w = None if weight is None else np.r_[np.ones(40), weight]
    ref_fpr, ref_tpr, _ = roc_curve(y, np.r_[pos, neg], sample_weight=w)
    np.testing.assert_allclose(fpr, ref_fpr, atol=1e-12)
    np.testing.assert_allclose(tpr, ref_tpr, atol=1e-12)
