"""SliceGPT (Ashkboos et al., ICLR 2024): delete rows and columns of a language model after a PCA rotation.

Modules:

* ``slicing`` — the science: LayerNorm fusion, PCA per block, sequential rotate-and-slice with
  shortcut matrices, the computational-invariance check.
* ``sliced_modules`` — the modules of a sliced model (scale-free RMSNorm, blocks with shortcuts);
  torch + transformers only, copied into every export.
* ``layouts`` — which architectures can be sliced, recognised by block layout and norm type.
* ``models`` — the shipped SmolLM2-135M (GGUF → cached plain Llama), model folders and the Hugging
  Face cache, the memory check before loading.
* ``data`` — offline text: BBC News, Python docstrings (calibration and held-out), the probe items.
* ``measure`` — perplexity, the zero-shot probe, parameters, FLOPs, decoding latency, generation.
* ``export`` — save a sliced model that plain transformers reloads.
* ``tiny`` — tiny random Llama / OPT / GPT-2 / Phi models for tests.
* ``explore`` — what the explorer computes (``Settings``, ``validate``, ``explore``).
* ``experiment`` — the measured study behind the notebook (``ExperimentConfig``, ``run_experiment``).
* ``report`` — the paper's claims next to ours, verdicts computed from ``results.json``.
"""

#: the shipped model (SmolLM2-135M-Instruct, a dequantised Q4_1 GGUF)
DEFAULT_MODEL = "smollm2-135m"
#: slicing in percent of the hidden width (the paper's headline setting)
DEFAULT_SLICING = 25.0
#: calibration corpus of the explorer
DEFAULT_CALIBRATION = "bbc"
#: calibration sequences × tokens of the explorer (the paper: 1024 × 2048; small enough for 2 CPU cores)
DEFAULT_CAL_SEQS = 16
DEFAULT_SEQ_LEN = 128
#: held-out windows per corpus and probe items of the explorer's quick measurement (a few minutes on 2 cores in all)
DEFAULT_EVAL_WINDOWS = 8
DEFAULT_PROBE_ITEMS = 24
