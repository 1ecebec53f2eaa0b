"""What the adverb explorer shows, computed: one text tagged and run through every augmenter (with
several seeds) with the meaning each keeps and its flags (:func:`explore`), and a data set's adverb
coverage with examples (:func:`summarize_dataset`). The widget only draws these results.

The ``shared_*`` functions are what the dashboard runs as jobs: the same computations with the
tagger, the embedder and the data sets loaded once per process, and (for the deterministic ones)
results computed once per machine through :func:`deletionlab.core.cache.cached`, so a class
opening the dashboard together computes its default run once. They are plain module functions, so
a heavy job can also run them on a Dask worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from deletionlab.adverbs import DEFAULT_EXAMPLE, DEFAULT_GUARDS, augment
from deletionlab.adverbs.data import Dataset, load_shared
from deletionlab.adverbs.experiment import Coverage, ExperimentConfig, ExperimentResult, coverage, run_experiment
from deletionlab.core.cache import cached
from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress

MAX_CHARS = 20_000  # longer pastes are refused with this limit in the message (tagging one takes ~0.5 s)
MAX_SEED = 2**32 - 1  # the augmenters' seed: any whole number in 0..MAX_SEED
#: samples per augmenter the explorer shows (seeds seed, seed + 1, ...): the randomness of EDA, AEDA
#: and random deletion is visible; more would crowd the table
MIN_SAMPLES, MAX_SAMPLES = 1, 5
#: a number longer than this many digits is shown as "1e+308" in a message (not 309 digits)
SHOWN_DIGITS = 12
#: the result cache's namespace for this study
CACHE_NAMESPACE = "adverbs"
#: the data-set panel's range of texts to tag (a few seconds per thousand on 2 cores)
MIN_COVERAGE_TEXTS, MAX_COVERAGE_TEXTS = 1, 50_000
N_EXAMPLES = 5  # examples the data-set panel shows ...
MAX_EXAMPLE_CHARS = 240  # ... each shorter than this


@dataclass(frozen=True)
class Settings:
    """What the explorer's text tab sets: the text, the switched-on guards and the augmenters' seed."""

    text: str = DEFAULT_EXAMPLE
    guards: frozenset = DEFAULT_GUARDS
    seed: int = 0
    samples: int = 1  # outputs per augmenter, with seeds seed, seed + 1, ... (mod 2**32)


@dataclass
class TokenView:
    text: str
    whitespace: str
    pos: str
    tag: str
    status: str = ""  # "deleted", "kept" (by a guard) or ""
    reason: str = ""


@dataclass
class MethodView:
    method: str
    text: str
    changed: bool
    similarity: float | None
    flags: list = field(default_factory=list)
    n_edits: int = 0


@dataclass
class Exploration:
    """One text as the explorer shows it: its tokens (adverb deletion's decisions marked) and every
    augmenter's output."""

    text: str
    tokens: list[TokenView]
    methods: list[MethodView]  # each augmenter's output with the first seed
    notices: list[str] = field(default_factory=list)
    samples: list[list[MethodView]] = field(default_factory=list)  # per augmenter, its output for each seed
    seeds: list[int] = field(default_factory=list)

    @property
    def adverbs(self) -> list[TokenView]:
        return [t for t in self.tokens if t.pos == "ADV"]


def check_text(text: str) -> str:
    """Raise a clear :class:`UserError` for text the explorer cannot take."""
    if text is None or not str(text).strip():
        raise UserError("The text is empty: type or paste a sentence, or pick a random example.")
    if len(text) > MAX_CHARS:
        raise UserError(f"The text has {len(text):,} characters; the explorer takes up to {MAX_CHARS:,}. "
                        "Paste a shorter passage (the experiment panel handles whole data sets).")
    return str(text)


def shown(value) -> str:
    """A value as a message quotes it: huge whole numbers in short form ("1e+308", never 309 digits)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and len(str(abs(int(value)))) > SHOWN_DIGITS:
        try:
            return f"{float(value):.3g}"
        except OverflowError:
            return "a number with over 300 digits"
    return repr(value)


def _whole(value, lo: int, hi: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer)) and lo <= value <= hi


def validate(s: Settings) -> Settings:
    """The settings with the text checked and the guards a frozenset; :class:`UserError` naming the field."""
    check_text(s.text)
    guards = augment.check_guards(s.guards)
    if not _whole(s.seed, 0, MAX_SEED):
        raise UserError(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {shown(s.seed)}).")
    if not _whole(s.samples, MIN_SAMPLES, MAX_SAMPLES):
        raise UserError(f"Samples per method must be a whole number from {MIN_SAMPLES} to {MAX_SAMPLES} (got {shown(s.samples)}).")
    return Settings(str(s.text), guards, int(s.seed), int(s.samples))


def _tokens(doc, adverb_deletion: augment.Augmentation) -> list[TokenView]:
    tokens = [TokenView(t.text, t.whitespace_, t.pos_, t.tag_) for t in doc]
    for e in adverb_deletion.edits:
        tokens[e.position].status = "deleted" if e.op == "delete" else "kept"
        tokens[e.position].reason = e.reason
    return tokens


def _similarities(text: str, results: list[augment.Augmentation], embed) -> list[float]:
    """Cosine of each augmented text with the original (1.0 for an unchanged text)."""
    changed = list(dict.fromkeys(r.text for r in results if r.changed))
    if not changed:
        return [1.0] * len(results)
    vecs = embed([text] + changed)
    cos = {t: float(np.dot(vecs[0], v)) for t, v in zip(changed, vecs[1:])}
    return [cos[r.text] if r.changed else 1.0 for r in results]


def _method(r: augment.Augmentation, similarity: float) -> MethodView:
    flags = []
    if r.touched_negation:
        flags.append("label-flip risk: a negation was changed")
    if not r.changed:
        flags.append("unchanged")
    return MethodView(r.method, r.text, r.changed, similarity, flags, len([e for e in r.edits if e.op != "keep"]))


def explore(s: Settings, *, tagger=None, embed=None, progress: Progress = no_progress,
            cancel: CancelToken | None = None) -> Exploration:
    """Tag the text, run every augmenter on it, and measure how much meaning each keeps.

    ``tagger`` (text → spaCy doc) and ``embed`` (texts → unit vectors) default to the shipped ones.
    """
    s = validate(s)
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    progress(0, 3, "tagging")
    check_cancel(cancel)
    doc = tagger(s.text)
    check_cancel(cancel)
    augs = [augment.AdverbDeletion(s.guards, tagger), augment.RandomDeletion(guards=s.guards, tagger=tagger),
            augment.EDA(tagger=tagger), augment.AEDA(tagger)]
    seeds = [(s.seed + k) % (MAX_SEED + 1) for k in range(s.samples)]
    runs = []
    for a in augs:
        check_cancel(cancel)
        runs.append([a(doc, seed=seed) for seed in seeds])
    results = [r[0] for r in runs]
    progress(1, 3, "augmenting")
    check_cancel(cancel)
    tokens = _tokens(doc, results[0])
    if embed is None:
        from deletionlab.adverbs.similarity import embedder

        embed = embedder()
    flat = [r for run in runs for r in run]
    sims = iter(_similarities(s.text, flat, embed))
    progress(2, 3, "similarity")
    samples = [[_method(r, next(sims)) for r in run] for run in runs]
    methods = [run[0] for run in samples]
    notices = list(dict.fromkeys(f"{r.method}: {r.notice}" for r in flat if r.notice))
    if not any(t.pos == "ADV" for t in tokens):
        notices.append("No adverbs in this text: adverb deletion leaves it unchanged (the paper adds no copy for such texts).")
    elif not results[0].changed:
        notices.append("Every adverb here is kept by a guard; switch a guard off to delete it.")
    progress(3, 3, "done")
    return Exploration(s.text, tokens, methods, notices, samples, seeds)


@dataclass
class DatasetSummary:
    """The data-set panel: what a sample of a data set gives adverb deletion to work with."""

    description: str
    classes: list[str]
    coverage: Coverage
    examples: list[tuple[str, str]]  # (original, after adverb deletion)


def check_coverage_texts(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not MIN_COVERAGE_TEXTS <= n <= MAX_COVERAGE_TEXTS:
        raise UserError(f"Texts must be a whole number from {MIN_COVERAGE_TEXTS} to {MAX_COVERAGE_TEXTS:,} (got {n!r}).")
    return int(n)


def summarize_dataset(data: Dataset, n: int, guards: Iterable[str] = DEFAULT_GUARDS, *, tagger=None,
                      progress: Progress = no_progress, cancel: CancelToken | None = None) -> DatasetSummary:
    """Adverb coverage of a stratified sample of ``n`` texts (seed 0) and a few short examples."""
    n, guards = check_coverage_texts(n), augment.check_guards(guards)
    if tagger is None:
        from deletionlab.adverbs.tagger import Tagger

        tagger = Tagger()
    ds = data.sample(n, seed=0)

    def tagged(done, total, note=""):
        progress(done / max(len(ds), 1), 2, f"tagging {done:,}/{len(ds):,}")

    docs = list(tagger.iter(ds.texts, cancel=cancel, progress=tagged, total=len(ds)))
    progress(1, 2, "counting")
    cov = coverage(docs, guards, cancel)
    adv = augment.AdverbDeletion(guards)
    examples = []
    for d in docs:
        check_cancel(cancel)
        a = adv(d)
        if a.changed and len(d.text) < MAX_EXAMPLE_CHARS:
            examples.append((d.text, a.text))
        if len(examples) >= N_EXAMPLES:
            break
    progress(2, 2, "done")
    return DatasetSummary(ds.description, list(ds.classes), cov, examples)


# -- what the dashboard runs as jobs --------------------------------------------------------------
def shared_tagger():
    """The process's tagger (spaCy loaded once per kernel, one doc cache)."""
    from deletionlab.adverbs.tagger import shared

    return shared()


def shared_explore(s: Settings, *, tagger=None, embed=None, progress: Progress = no_progress,
                   cancel: CancelToken | None = None) -> Exploration:
    """:func:`explore` with the process's tagger and embedder, computed once per machine for these
    settings; an injected ``tagger`` or ``embed`` (tests) computes it here, uncached."""
    s = validate(s)
    if tagger is not None or embed is not None:
        return explore(s, tagger=tagger or shared_tagger(), embed=embed, progress=progress, cancel=cancel)
    return cached(CACHE_NAMESPACE, ("explore", s), lambda: explore(s, tagger=shared_tagger(), progress=progress, cancel=cancel),
                  cancel=cancel, progress=progress)


def shared_summary(name: str, n: int, guards: Iterable[str] = DEFAULT_GUARDS, *, data: Dataset | None = None, tagger=None,
                   progress: Progress = no_progress, cancel: CancelToken | None = None) -> DatasetSummary:
    """:func:`summarize_dataset` of the data set ``name`` (loaded once per process), computed once per
    machine; with an injected ``data`` or ``tagger`` (tests) it is computed here, uncached."""
    n, guards = check_coverage_texts(n), augment.check_guards(guards)
    if data is not None or tagger is not None:
        return summarize_dataset(data if data is not None else load_shared(name), n, guards, tagger=tagger or shared_tagger(),
                                 progress=progress, cancel=cancel)
    return cached(CACHE_NAMESPACE, ("coverage", name, n, guards),
                  lambda: summarize_dataset(load_shared(name), n, guards, tagger=shared_tagger(), progress=progress, cancel=cancel),
                  cancel=cancel, progress=progress)


def shared_experiment(cfg: ExperimentConfig, *, data: Dataset | None = None, tagger=None, embed=None,
                      progress: Progress = no_progress, cancel: CancelToken | None = None) -> ExperimentResult:
    """:func:`run_experiment` on the data set ``cfg.dataset`` (loaded once per process), with an ETA in
    its progress notes (:class:`deletionlab.adverbs.timing.Eta`); computed once per machine for this
    config unless ``data``, ``tagger`` or ``embed`` is injected (tests)."""
    from deletionlab.adverbs.timing import Eta, experiment_plan

    cfg = cfg.validate()

    def compute() -> ExperimentResult:
        d = data if data is not None else load_shared(cfg.dataset)
        eta = Eta(experiment_plan(cfg, d, cached_share=0.0 if embed is not None else None), progress)
        return run_experiment(cfg, data=d, tagger=tagger or shared_tagger(), embed=embed, progress=eta, cancel=cancel)

    if data is not None or tagger is not None or embed is not None:
        return compute()
    return cached(CACHE_NAMESPACE, ("experiment", cfg), compute, cancel=cancel, progress=progress)


def random_exploration(name: str, s: Settings, *, data: Dataset | None = None, tagger=None, embed=None,
                       progress: Progress = no_progress, cancel: CancelToken | None = None) -> tuple[str, Exploration]:
    """A text drawn at random from the data set ``name`` (loaded once per process) and its
    :func:`shared_explore` with the other settings of ``s`` (its text is replaced)."""
    progress(0, 4, "picking an example")
    text = (data if data is not None else load_shared(name)).random_text()
    check_cancel(cancel)
    s = Settings(text, s.guards, s.seed, s.samples)

    def step(done, total, note=""):
        progress(1 + 3 * done / max(total, 1), 4, note)

    return text, shared_explore(s, tagger=tagger, embed=embed, progress=step, cancel=cancel)
