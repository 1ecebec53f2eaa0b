"""Unlearning study: membership leakage of deleted records across a series of model releases.

Chourasia & Shah (ICML 2023), "Forget Unlearning: Towards True Data-Deletion in Machine
Learning". Modules:

* :mod:`.data` -- scikit-learn's shipped data sets, prepared and split; class names of a record;
* :mod:`.models` -- batched convex models (logistic, ridge); :mod:`.mlp` -- the optional small
  MLP and :func:`.mlp.make_task`, the factory for every model kind;
* :mod:`.learners` -- retrain, SISA, caching, Noisy-GD (``fit``/``delete`` -> ``Release``);
* :mod:`.requesters` -- who deletes (random, or adaptive to the published model);
* :mod:`.attack` -- LiRA, its metrics, and the attacks on every release of a learner;
* :mod:`.accounting` -- the Noisy-GD bound and the exact Gaussian divergence for ridge regression;
* :mod:`.explore` -- what the explorer computes: one configuration, every release attacked;
* :mod:`.experiment` -- the measurement: seeds, aggregation, accumulation, the σ sweep;
* :mod:`.report` -- the paper's claims next to ours, from ``results.json``.
"""

DEFAULT_DATASET = "digits_3v8"  # 64 pixels per record: a membership signal logistic regression can show
DEFAULT_MODEL = "logistic"
DEFAULT_LEARNERS = ("retrain", "sisa", "caching", "noisy_gd")
DEFAULT_REQUESTER = "random"
DEFAULT_RELEASES = 10  # T: releases after the first
DEFAULT_PER_RELEASE = 5  # deletion requests answered per release
DEFAULT_SHADOWS = 32  # shadow models per learner (LiRA's "fixed variance" variant needs few)

MAX_RELEASES = 50  # each release is trained and attacked
MIN_SHADOWS, MAX_SHADOWS = 4, 512  # even numbers only: every record is IN for exactly half of them
MAX_SEED = 10 ** 9
