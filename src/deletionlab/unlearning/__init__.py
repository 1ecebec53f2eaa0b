"""Unlearning study: membership leakage of deleted records across a series of model releases.

Chourasia & Shah (ICML 2023), "Forget Unlearning: Towards True Data-Deletion in Machine
Learning". Modules: :mod:`.data` (scikit-learn's shipped sets), :mod:`.models` (batched convex
models), :mod:`.learners` (retrain, SISA, caching, Noisy-GD), :mod:`.simulate` (releases,
requesters, attacks), :mod:`.attack` (LiRA), :mod:`.accounting` (the Noisy-GD bound and the exact
Gaussian divergence for ridge regression).
"""
