"""Data for the unlearning study: scikit-learn's shipped datasets (no download), prepared once.

Every record gets a stable id (its row number). Features are standardised and then scaled so
that every row has L2 norm at most 1 (``‖x‖ ≤ 1``), which bounds the per-example gradients of
the convex losses (the Lipschitz constant the Noisy-GD guarantee needs) and makes the losses
β-smooth with β ≤ 1 + λ once a bias feature 1 is appended.

The records are split once, by a seeded permutation, into

* the **service's data** ``members`` -- what the published models are trained on and what users
  delete from, and
* **never-members** ``outsiders`` -- the same population, never trained on: the attacker's
  negatives and the test set for accuracy.

The attacker's shadow models are trained on random halves of *all* records (members and
outsiders alike), as in LiRA.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from deletionlab.core.jobs import UserError

#: name -> (loader in sklearn.datasets, task, one-line description)
DATASETS = {
    "breast_cancer": ("load_breast_cancer", "classification", "569 tumours, 30 features, benign vs malignant"),
    "digits": ("load_digits", "classification", "1,797 8×8 handwritten digits, 10 classes"),
    "wine": ("load_wine", "classification", "178 wines, 13 features, 3 cultivars"),
    "digits_3v8": ("load_digits", "classification", "357 handwritten 3s and 8s, 64 pixels: a binary task with many features per record"),
    "digits_odd": ("load_digits", "classification", "1,797 handwritten digits, odd vs even, 64 pixels"),
    "diabetes": ("load_diabetes", "regression", "442 patients, 10 features, disease progression (ridge only)"),
}

#: names of the classes, by label index, where the data set's target is not self-explanatory
CLASS_NAMES = {
    "digits": tuple(str(k) for k in range(10)),
    "digits_3v8": ("3", "8"),
    "digits_odd": ("even", "odd"),
}


@dataclass
class Dataset:
    """Prepared records: ``X`` (n × d, rows of norm ≤ 1), ``y`` (class index, or a float target),
    ``members`` / ``outsiders`` (id arrays, disjoint, covering all ids)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    members: np.ndarray
    outsiders: np.ndarray
    n_classes: int = 0
    description: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def d(self) -> int:
        return self.X.shape[1]

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, n={self.n}, d={self.d}, task={self.task}, "
                f"members={len(self.members)}, outsiders={len(self.outsiders)})")


def prepare(X: np.ndarray, y: np.ndarray, *, name: str = "custom", task: str = "classification",
            member_fraction: float = 0.5, seed: int = 0, description: str = "") -> Dataset:
    """Standardise, scale rows into the unit ball, and split into members and outsiders."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 4:
        raise UserError("The data need at least 4 records with a 2-D feature table.")
    if not np.isfinite(X).all():
        raise UserError("The features contain NaN or infinite values.")
    if not 0.05 <= member_fraction <= 0.95:
        raise UserError("The member fraction must be between 0.05 and 0.95.")
    mu, sd = X.mean(0), X.std(0)
    sd[sd == 0] = 1.0
    Z = (X - mu) / sd / np.sqrt(X.shape[1])
    norms = np.linalg.norm(Z, axis=1, keepdims=True)
    Z = Z / np.maximum(norms, 1.0)
    if task == "classification":
        classes, yy = np.unique(np.asarray(y), return_inverse=True)
        n_classes = len(classes)
        yy = yy.astype(np.int64)
    else:
        yy = np.asarray(y, dtype=np.float64)
        yy = (yy - yy.mean()) / (yy.std() or 1.0)
        n_classes = 0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(Z))
    k = int(round(member_fraction * len(Z)))
    return Dataset(name=name, X=Z.astype(np.float32), y=yy, task=task, members=np.sort(perm[:k]),
                   outsiders=np.sort(perm[k:]), n_classes=n_classes, description=description,
                   info={"seed": seed, "member_fraction": member_fraction})


def _raw(loader: str) -> tuple[np.ndarray, np.ndarray]:
    """``(data, target)`` of a scikit-learn data set. The digits are read straight from the file
    scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``, what ``load_digits`` reads: 64 pixel
    columns, then the label), without importing scikit-learn, which imports scipy.stats: a dashboard
    kernel showing digits saves ~0.7 CPU-seconds (a test checks the arrays equal ``load_digits``')."""
    if loader == "load_digits":
        spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
        path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1], data[:, -1].astype(int)
    import sklearn.datasets as skd

    raw = getattr(skd, loader)()
    return raw.data, raw.target


def load(name: str = "breast_cancer", *, seed: int = 0, member_fraction: float = 0.5) -> Dataset:
    """One of :data:`DATASETS`, prepared (the files ship inside scikit-learn)."""
    if name not in DATASETS:
        raise UserError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")
    loader, task, desc = DATASETS[name]
    X, y = _raw(loader)
    if name == "digits_3v8":
        keep = np.isin(y, (3, 8))
        X, y = X[keep], (y[keep] == 8).astype(int)
    elif name == "digits_odd":
        y = y % 2
    return prepare(X, y, name=name, task=task, member_fraction=member_fraction, seed=seed,
                   description=desc)


@lru_cache(maxsize=4)
def raw_images(name: str) -> np.ndarray | None:
    """The unscaled 8×8 pixel images of a digits data set in record order (None for the others);
    for showing a record, not for training."""
    if not name.startswith("digits"):
        return None
    X, y = _raw("load_digits")
    images = X.reshape(-1, 8, 8)
    if name == "digits_3v8":
        images = images[np.isin(y, (3, 8))]
    images = images.copy()
    images.setflags(write=False)
    return images


@lru_cache(maxsize=4)
def labels(name: str) -> np.ndarray:
    """The labels of a data set in record order (read-only; they do not depend on the split seed)."""
    y = load(name).y.copy()
    y.setflags(write=False)
    return y


def class_name(name: str, rid: int) -> str:
    """The class of record ``rid`` in words ("3", "odd"; the label index where no names are known)."""
    y = int(labels(name)[rid])
    names = CLASS_NAMES.get(name)
    return names[y] if names else str(y)
