"""The measurement: seeds on a dask cluster, aggregation, accumulation over later releases."""

import numpy as np
import pytest

from deletionlab.unlearning.experiment import accumulation, aggregate, sweep_seeds
from deletionlab.unlearning.explore import Config


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


def test_accumulation_only_averaging_fresh_noise_changes_anything():
    out = accumulation(batch=12, releases=4, shadows=8, seeds=(0,))
    for key in ("retrain", "noisy_gd"):  # their later releases repeat: averaging adds nothing
        np.testing.assert_allclose(out[key]["average"]["mean"], out[key]["single"]["mean"][:1] * 4, atol=1e-9)
    c = out["caching"]
    assert c["average"]["mean"][0] == pytest.approx(c["single"]["mean"][0])
    assert not np.allclose(c["average"]["mean"][1:], c["single"]["mean"][1:])
