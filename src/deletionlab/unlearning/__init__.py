"""Unlearning study: membership leakage of deleted records across a series of model releases.

Chourasia & Shah (ICML 2023), "Forget Unlearning: Towards True Data-Deletion in Machine
Learning". Modules:

* :mod:`.data` -- scikit-learn's shipped data sets, prepared and split; class names of a record;
* :mod:`.models` -- batched convex models (logistic, ridge); :mod:`.mlp` -- the optional small
  MLP and :func:`.mlp.make_task`, the factory for every model kind;
* :mod:`.learners` -- retrain, SISA, caching, Noisy-GD (``fit``/``delete`` -> ``Release``);
* :mod:`.requesters` -- who deletes (random, adaptive to the published model, or linked: a
  deletion that encodes another record's membership);
* :mod:`.attack` -- LiRA, its metrics, the attacks on every release of a learner (including the
  difference of consecutive releases) and the linked-target attack;
* :mod:`.accounting` -- the Noisy-GD bound, the certified ε of a run, and the exact Gaussian
  divergence for ridge regression;
* :mod:`.explore` -- what the explorer computes: one configuration, every release attacked;
* :mod:`.experiment` -- the measurement: seeds, aggregation, accumulation, the σ sweep;
* :mod:`.report` -- the paper's claims next to ours, from ``results.json``;
* :mod:`.dashboard` -- what the dashboard runs beyond a run: the shared (cached) run, bootstrap bands
  over records, the ROC of any release; :mod:`.export` -- CSV files of a run and of the results.
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

# Ranges of the hyper-parameters (checked once, in ``learners.Hyper.validate``; the messages name them)
LAMBDA_RANGE = (1e-4, 10.0)  # L2 regularisation λ (strong convexity; the bound needs λ > 0)
SIGMA_RANGE = (1e-4, 1.0)  # Noisy-GD noise σ when not 0 (σ = 0.3 already costs ~20 points of accuracy)
MAX_STEPS = 20_000  # K_A, K_U and the exact learners' gradient steps
MAX_SHARDS, MAX_SLICES = 50, 20
CLIP_RANGE = (1e-3, 100.0)  # per-example gradient norm L

# The certificate (issue 10, item 11): a bound is called meaningful when ε ≤ CERTIFY_TARGET at the
# Rényi order α = 2 after every request of a run; the experiment tests the claims again at the
# setting below, with the smallest K_U that meets the target (``accounting.k_unlearn_for``)
CERTIFY_TARGET = 10.0
CERTIFIED_LAMBDA = 0.05  # five times the default λ: the bound decays like exp(−ληK_U/α)
CERTIFIED_SIGMA = 0.05  # the learning phase's own Rényi DP for one record is then ε₀(2) ≈ 2
