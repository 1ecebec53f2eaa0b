"""Draw the SliceGPT study's home-page thumbnail (notebooks/thumbnails/slicegpt.png) from the
committed results: perplexity relative to the dense model against slicing, ours (SmolLM2-135M on
held-out BBC News and Python docstrings) next to the paper's OPT-125M and Llama-2-7B (Table 1)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deletionlab.slicegpt.report import PAPER_LEVELS, PAPER_PPL, curve, load_results  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "thumbnails" / "slicegpt.png"


def main() -> None:
    res = load_results()
    if res is None:
        raise SystemExit("no results.json yet: run scripts/slicegpt_experiment.py first")
    fig, ax = plt.subplots(figsize=(6, 1.8), dpi=100)
    for corpus, color in (("bbc", "tab:blue"), ("docstrings", "tab:orange")):
        cur = curve(res, corpus)
        ax.plot([c["level"] for c in cur], [c["ratio"] for c in cur], "o-", color=color, markersize=3, label=f"SmolLM2, {corpus}")
    for name, color in (("OPT-125M", "tab:green"), ("Llama-2-7B", "tab:purple")):
        vals = PAPER_PPL[name]
        ax.plot(PAPER_LEVELS, [v / vals[0] for v in vals], "^--", color=color, markersize=3, label=f"paper: {name}")
    ax.set_yscale("log")
    ax.set_xlabel("slicing %", fontsize=8)
    ax.set_ylabel("perplexity / dense", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, ncol=2, loc="upper left")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
