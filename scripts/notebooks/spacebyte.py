"""Cells of ``notebooks/spacebyte.ipynb`` (regenerate with ``python scripts/make_notebook.py spacebyte.ipynb``)."""

NOTEBOOK = "spacebyte.ipynb"
TITLE = "Bytes and spaces: can a byte-level model match a tokenised one by thinking harder after spaces?"

CELLS = [
    ("md", """
# Bytes and spaces: deleting the tokenizer

Language models read *tokens*: pieces of words chosen by a tokenizer trained before the model.
Deleting the tokenizer and reading raw UTF-8 bytes is simpler and fairer to every script, but a
byte-level Transformer then spends the same large computation on every byte, about four times as
many positions as tokens, and loses at equal compute.

Slagle (2024, *SpaceByte: Towards Deleting Tokenization from Large Language Modeling*, NeurIPS)
keeps the bytes and moves the expensive part: small **local** Transformer blocks run on every
byte (with a sliding attention window), and large **global** blocks run only on bytes right
after a word ends, found by one rule on the bytes themselves:

> a byte is *spacelike* if it is not an ASCII letter, not a digit and not a UTF-8 continuation
> byte; the global blocks run at every spacelike byte that follows a non-spacelike one (and at
> the start).

The global blocks see the local stream there (widened with zeros), and their output is *added*
back at the same positions. The paper's Table 1, at 10¹⁹ training FLOPs: SpaceByte reaches 1.009
bits per byte on PG-19 books, against 1.138 for a byte Transformer, 1.083 for MegaByte (fixed
patches of bytes) and 0.989 for a subword Transformer; the same order holds on arXiv and GitHub.
"""),
    ("md", """
## Explore

**Patches** — type or paste anything: each colour is one patch, ▾ marks where the global blocks
run, struck-through grey bytes fall past the global context T_global (SpaceByte does not train on
them). **FLOPs per byte** — the paper's cost formula for every architecture, drawn against the
context T; it starts at the paper's SpaceByte-793M+184M. **Tournament** — our compute-matched
mini-tournament: hover a dot for the run's architecture, size, seed, bits per byte and FLOPs, click
a legend entry to hide an architecture, drag to zoom; a click on a dot draws that run's training
curve next to the other architectures' at the same budget, and a model that ships with the
dashboard opens its loss map. **Retrain** reruns a small tournament in the background (progress,
cancel within a second, an estimate of its time; finished runs are reused). **Loss map** — how
surprised a model trained here is by each byte. **Complete** — a tiny model writes byte by byte.
Every curve is interactive (hover, zoom, legend); the camera icon saves a PNG and *SVG* an SVG.
Each architecture keeps its colour in every chart and table.

What to try: a Chinese or Japanese sentence (every character is its own patch), a line of code
(`x = f(y)` cuts into `x`, ` = f`, `(y`, `)`), a row of emoji, a long run of punctuation (one patch: only the first
spacelike byte counts); switch to *every P bytes* and watch words and even characters split; in
the calculator, shrink D with a long T and see attention take over the byte Transformer's cost.
"""),
    ("code", """
from deletionlab.widgets import SpaceByteExplorer

explorer = SpaceByteExplorer()
explorer
"""),
    ("md", """
## What we measured

`scripts/spacebyte_experiment.py` trains every architecture for a fixed number of **training
FLOPs** (3 × the paper's inference FLOPs per byte × the bytes seen) on two corpora that ship
offline: BBC News articles (prose) and the Python standard library's own source (code), split
10 % / 90 % by a hash of each file's name. Budgets: 10¹² and 4·10¹² FLOPs on prose (10¹² on code) —
a millionth of the paper's — with sizes growing with the budget (D = 64 or 128, 2 or 4 layers) and
three seeds at the smaller budget. An architecture's result at a budget is its best size (its
*Pareto frontier*); differences between architectures are paired by seed. Bits per byte are
measured on the same 64 kB of validation text for every model. The subword model uses a 4,096-token
byte-level BPE trained with `tokenizers` on the training split.

Every verdict below is computed from the committed `results.json`; a claim "a < b" *agrees* when the
seed-paired difference is below zero by more than two standard errors.
"""),
    ("code", """
from deletionlab.spacebyte.report import load_results
from deletionlab.widgets import SpaceByteResultsView

from IPython.display import Markdown
from deletionlab.spacebyte.report import summary

results = load_results()
if results:
    display(Markdown("\\n".join(f"* {line}" for line in summary(results))))
    display(SpaceByteResultsView(results))
else:
    print("No results yet: run `python scripts/spacebyte_experiment.py`.")
"""),
    ("md", """
## Where the loss is

The paper's motivation: most of a byte model's loss sits on the **first byte of a word**, which is
exactly what the global block at the preceding space helps predict. The shipped SpaceByte, MegaByte
and byte Transformer (trained on BBC News here) score a validation paragraph; the table compares the
first byte of each word with the rest, and the text below is coloured by SpaceByte's loss (darker =
more bits, ▾ = a global block ran there; hover a character for its bits). The claims table above has
the same measurement on 32 kB. The scores go through the machine's result cache: a dashboard server
computes them once for all its visitors.
"""),
    ("code", """
from deletionlab.spacebyte import data
from deletionlab.spacebyte.checkpoints import shipped_models
from deletionlab.spacebyte.explore import shared_loss_map
from deletionlab.spacebyte.models import ARCHS
from deletionlab.widgets.spacebyte import STYLE, lossmap_html
import ipywidgets as W

paragraph = data.split("prose", "validation")[0][1][:1200]
folders = shipped_models()
maps = {a: shared_loss_map(paragraph, folders[a]) for a in ("spacebyte", "megabyte", "byte") if a in folders}
rows = "".join(f"<tr><td>{ARCHS[a]}</td><td>{m.summary['mean_bits']:.2f}</td><td>{m.summary['first_byte_bits']:.2f}</td>"
               f"<td>{m.summary['other_bits']:.2f}</td></tr>" for a, m in maps.items())
table = ("<table class='dl-t'><tr><th>model</th><th>bits per byte</th><th>first byte of a word</th><th>other bytes</th></tr>"
         + rows + "</table>")
W.HTML(STYLE + f"<div class='dl-spacebyte'>{table}{lossmap_html(maps['spacebyte'])}</div>") if maps else print("No shipped models.")
"""),
    ("md", """
## Train two models here

The smallest SpaceByte and byte Transformer, trained for the same 2·10¹⁰ FLOPs on this machine (about
ten seconds each on one core; half the budget when the notebook runs in the test suite). At equal
FLOPs SpaceByte takes more steps and sees more text, because its big blocks run on one byte in six.
The training runs in the background, as the dashboard's jobs do (the page stays usable; progress
and Cancel on the bar), in the machine's queue for heavy jobs. Training is deterministic, so its
records go through the machine's result cache: the first reader trains, later readers (and every
visitor of the dashboard) read the same records at once; the seconds shown are those the training
took. The **Tournament** tab's *Retrain* does the same for more architectures.
"""),
    ("code", """
import os
import ipywidgets as W
from deletionlab.core.cache import cached
from deletionlab.spacebyte.experiment import model_config
from deletionlab.spacebyte.training import TrainConfig, train
from deletionlab.widgets.common import JobBar

budget = 1e10 if os.environ.get("DELETIONLAB_FAST") else 2e10


def train_two(*, progress, cancel):
    \"\"\"Train the XS SpaceByte and byte Transformer for `budget` training FLOPs each; one line per model.\"\"\"
    lines = []
    for arch in ("spacebyte", "byte"):
        tc = TrainConfig(budget=budget, batch_bytes=1024, lr=0.1, val_bytes=8192)
        rec = cached("spacebyte", ("notebook-train", arch, tc),
                     lambda: train(model_config(arch, "XS", "prose"), "prose", tc, progress=progress, cancel=cancel)[1],
                     progress=progress, cancel=cancel)
        lines.append(f"{arch:10s} {rec['steps']:4d} steps, {rec['bytes_trained'] / 1e3:6.0f} kB seen, "
                     f"{rec['bpb']:.3f} bits per byte, trained in {rec['train_seconds']:.0f} s")
    return "\\n".join(lines)


bar, table = JobBar(), W.HTML()
bar.run(train_two, on_result=lambda text: setattr(table, "value", f"<pre>{text}</pre>"), name="Training two models",
        heavy=True, threads=1)
W.VBox([bar, table])
"""),
    ("md", """
## What differs from the paper

* **Scale.** The paper trains models of 10⁸–10⁹ parameters for 10¹⁸–10¹⁹ FLOPs on GPUs; ours have
  10⁵–10⁶ parameters and see 10¹²–4·10¹² FLOPs (a few MB of text) on one CPU core. At this scale the
  models learn mostly spelling and common words, and all bits per byte are far above the paper's.
  Which architecture wins is a statement about *this* scale, with its standard error.
* **Data.** BBC News (5 MB) and Python's standard library (11 MB) instead of PG-19, arXiv and
  GitHub; our code corpus is one project's style.
* **Key dimension 32** instead of 64 at our widths, a learning rate chosen by a small sweep at the
  smallest budget (one rate for all architectures), 2 kB per optimiser step; the rest of the
  optimiser is the paper's (AdamW β = (0.9, 0.98), weight decay 0.01, clipping 1, 1 % warm-up,
  cos(πx/2) decay). The reference code scales the rate of each linear layer by d_in^-1/2; so do we.
* **Subword baseline.** A 4,096-token BPE of our own (the paper: GPT-2's and a SentencePiece
  tokenizer with 50,257 tokens); its output layer still costs D·V per token.
* **MegaByte** with P = 8 only (the paper also tried P = 4); no windowed-attention variant of
  MegaByte's local model is needed at P = 8.
* **Windows.** Our sliding-window attention scores 2W keys per query in chunks (half masked); FLOPs
  budgets use the paper's count (W keys), so windowed models get their attention for less than it
  costs us in time, as in the paper's accounting.

## Reproduce

```
python scripts/spacebyte_experiment.py --export   # the tournament: 66 runs, resumable
python benchmarks/spacebyte_train.py              # training speed, side by side
python scripts/make_notebook.py spacebyte.ipynb
```
"""),
]
