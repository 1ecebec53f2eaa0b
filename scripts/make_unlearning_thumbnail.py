"""Draw the unlearning study's home-page thumbnail (notebooks/thumbnails/unlearning.png) from a
real run: LiRA AUC on the deleted records per release, one line per learner."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deletionlab.unlearning.explore import Config, explore  # noqa: E402
from deletionlab.widgets.unlearning import COLORS  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "thumbnails" / "unlearning.png"


def main() -> None:
    res = explore(Config())
    fig, ax = plt.subplots(figsize=(6, 1.8), dpi=100)
    for key, (xs, ys) in res.timeline("average_online").items():
        ax.plot(xs, ys, "o-", color=COLORS[key], label=res.runs[key].label, markersize=3)
    ax.axhline(0.5, color="grey", linestyle=":")
    ax.set_ylabel("AUC", fontsize=8)
    ax.set_xlabel("release", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, ncol=2, loc="upper right")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
