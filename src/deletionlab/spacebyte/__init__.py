"""SpaceByte study: byte-level language models that run their big blocks only after spaces (Slagle 2024).

Modules:

* :mod:`.patching` -- the spacelike rule on UTF-8 bytes, fixed patches, patch statistics.
* :mod:`.models` -- SpaceByte, SpaceByte fixed-P, MegaByte, byte Transformer (full or windowed),
  subword Transformer; one shared pre-LN block.
* :mod:`.flops` -- FLOPs per byte from the paper's formulas, and counted on our modules.
* :mod:`.data` -- the corpora (BBC News prose, Python standard-library code), fixed splits, streams,
  BPE tokenizers.
* :mod:`.training` -- compute-matched training (the paper's optimiser) and bits-per-byte evaluation.
* :mod:`.checkpoints` -- the shipped models (fp16 safetensors) and completion byte by byte.
* :mod:`.explore` -- what the explorer shows: patches of a text, the FLOPs calculator, loss maps.
* :mod:`.experiment` -- the mini-tournament (architectures × sizes × budgets × seeds), resumable.
* :mod:`.report` -- the paper's claims next to ours, computed from ``results.json``.
"""

#: the explorer's first text (prose, code, accents, CJK and emoji in one paste)
DEFAULT_TEXT = ("SpaceByte runs its big global blocks only after spacelike bytes: the model thinks harder "
                "at the start of each word.\n"
                "def greet(name):\n    return f\"Hello, {name}!\"\n"
                "Café au lait, naïve façade. 漢字かな交じり文 😀👍")
#: the explorer's defaults for the patch view
DEFAULT_RULE = "spacelike"
DEFAULT_PATCH = 6
DEFAULT_T_GLOBAL = 64
#: the FLOPs calculator's first setting: SpaceByte-793M+184M of the paper (D, L, T bytes, P)
DEFAULT_FLOPS = {"d_model": 1536, "n_layers": 28, "context": 8192, "patch": 6}
