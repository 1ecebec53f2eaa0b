"""The augmented data set as a CSV file: every text of a sample with its label and each augmenter's copy.

Columns: ``text``, ``label``, then one per augmenter of the experiment (``adverb`` is the paper's
adverb deletion, every adverb; ``adverb_guarded`` keeps what the chosen guards protect; ``random``
deletes as many random words; ``eda`` with ``eda_op`` naming its operation; ``aeda``). A cell is
empty where the augmenter left the text unchanged: the experiment adds no copy for such a text, as
in the paper. Texts are written as they are (UTF-8, RFC 4180 quoting).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import numpy as np

from deletionlab.adverbs import DEFAULT_GUARDS, augment
from deletionlab.adverbs.data import Dataset, load_shared
from deletionlab.adverbs.explore import CACHE_NAMESPACE, MAX_SEED, shared_tagger, shown
from deletionlab.core.cache import cached
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress

#: the most texts one export takes: the file travels to the browser inside the page (5,000 tweets ~ 2 MB)
MAX_EXPORT_TEXTS = 5_000
COLUMNS = ("text", "label", "adverb", "adverb_guarded", "random", "eda", "eda_op", "aeda")


def check_export_texts(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_EXPORT_TEXTS:
        raise UserError(f"Texts to export must be a whole number from 1 to {MAX_EXPORT_TEXTS:,} (got {shown(n)}).")
    return int(n)


def augmented_rows(data: Dataset, n: int, guards: Iterable[str] = DEFAULT_GUARDS, seed: int = 0, *, tagger,
                   progress: Progress = no_progress, cancel: CancelToken | None = None) -> list[dict]:
    """One dict per text of a stratified sample of ``n`` texts (seed 0, as the data-set panel's
    coverage): the text, its label and each augmenter's copy with ``seed`` ("" when unchanged)."""
    n, guards = check_export_texts(n), augment.check_guards(guards)
    ds = data.sample(n, seed=0)
    augs = augment.all_augmenters(guards, tagger)
    rows = []

    def tagged(done, total, note=""):
        progress(done / max(len(ds), 1), 2, f"tagging {done:,}/{len(ds):,}")

    docs = tagger.iter(ds.texts, cancel=cancel, progress=tagged, total=len(ds))
    for k, (doc, label) in enumerate(zip(docs, ds.labels)):
        row = {"text": doc.text, "label": label}
        for name, aug in augs.items():
            check_cancel(cancel)
            a = aug(doc, seed=seed)
            row[name] = a.text if a.changed else ""
            if name == "eda":
                row["eda_op"] = a.method.removeprefix("EDA (").rstrip(")") if a.changed else ""
        rows.append(row)
    progress(2, 2, "writing")
    return rows


def to_csv(rows: list[dict]) -> str:
    """Rows of :func:`augmented_rows` as CSV text (header first)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def augmented_csv(data: Dataset, n: int, guards: Iterable[str] = DEFAULT_GUARDS, seed: int = 0, *, tagger,
                  progress: Progress = no_progress, cancel: CancelToken | None = None) -> str:
    """The CSV file of :func:`augmented_rows`."""
    return to_csv(augmented_rows(data, n, guards, seed, tagger=tagger, progress=progress, cancel=cancel))


def shared_csv(name: str, n: int, guards: Iterable[str] = DEFAULT_GUARDS, seed: int = 0, *, data: Dataset | None = None,
               tagger=None, progress: Progress = no_progress, cancel: CancelToken | None = None) -> str:
    """:func:`augmented_csv` of the data set ``name`` (loaded once per process), computed once per
    machine; with an injected ``data`` or ``tagger`` (tests) computed here, uncached."""
    n, guards = check_export_texts(n), augment.check_guards(guards)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise UserError(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {shown(seed)}).")

    def compute() -> str:
        return augmented_csv(data if data is not None else load_shared(name), n, guards, int(seed), tagger=tagger or shared_tagger(),
                             progress=progress, cancel=cancel)

    if data is not None or tagger is not None:
        return compute()
    return cached(CACHE_NAMESPACE, ("csv", name, n, guards, int(seed)), compute, cancel=cancel, progress=progress)
