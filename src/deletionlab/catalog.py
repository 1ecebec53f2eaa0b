"""The seven studies of Deletion Lab: what each asks, which paper it follows, where it lives.

A study is *available* when its science package and its notebook both exist; the home dashboard
shows the others plainly as planned.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

#: the repository's notebooks folder (the home page and the study notebooks)
NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Study:
    key: str
    title: str
    question: str
    paper: str
    notebook: str

    @property
    def available(self) -> bool:
        """True when ``deletionlab.<key>`` and ``notebooks/<notebook>`` both exist."""
        try:
            has_pkg = importlib.util.find_spec(f"deletionlab.{self.key}") is not None
        except ImportError:
            has_pkg = False
        return has_pkg and (NOTEBOOKS / self.notebook).exists()


STUDIES: tuple[Study, ...] = (
    Study("negprompt", "Negative prompts",
          "When does a negative prompt take effect in Stable Diffusion, and how does it delete an object?",
          "Ban et al. 2024, Understanding the Impact of Negative Prompts", "negative_prompts.ipynb"),
    Study("adverbs", "Deleting adverbs",
          "Does deleting adverbs make a better text augmentation than EDA or AEDA, and how much meaning does it keep?",
          "Adverb Is the Key (2024)", "adverb_deletion.ipynb"),
    Study("unlearning", "Unlearning releases",
          "Does a deleted record stay deleted across a series of model releases, and which unlearners leak it?",
          "Chourasia & Shah 2023 (ICML), Forget Unlearning", "unlearning_releases.ipynb"),
    Study("s3t", "Sharded sliced unlearning",
          "How many deletions can sharded, sliced fine-tuning absorb before accuracy drops?",
          "Sequence-aware Sharded Sliced Training (2024)", "s3t_unlearning.ipynb"),
    Study("slicegpt", "Slicing a language model",
          "How much of a language model can be deleted after a PCA rotation before perplexity suffers?",
          "Ashkboos et al. 2024, SliceGPT", "slicegpt.ipynb"),
    Study("spacebyte", "Bytes and spaces",
          "Can a byte-level model match a tokenised one by thinking harder only after spaces?",
          "Slagle 2024, SpaceByte", "spacebyte.ipynb"),
    Study("s2orbit", "The S2 orbit",
          "How many stars can hide inside S2's orbit, given collisions that destroy them and its measured precession?",
          "The S2 orbit and tidally disrupted binaries (2024)", "s2_orbit.ipynb"),
)


def study(key: str) -> Study:
    for s in STUDIES:
        if s.key == key:
            return s
    raise KeyError(key)
