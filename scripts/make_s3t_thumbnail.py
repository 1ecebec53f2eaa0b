"""Draw the S3T study's home-page thumbnail (notebooks/thumbnails/s3t.png): the exact chance that a
3 × 3 system still serves after t deletion requests, SISA (one ordering) against S3T with B′ = 2, 3
sequences (``deletionlab.s3t.capacity.alive_probability``)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deletionlab.s3t.capacity import alive_probability  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "thumbnails" / "s3t.png"


def main() -> None:
    t = 60
    fig, ax = plt.subplots(figsize=(6, 1.8), dpi=100)
    for b, label, color in ((1, "SISA", "tab:orange"), (2, "S3T, B′ = 2", "tab:olive"), (3, "S3T, B′ = 3", "tab:green")):
        ax.plot(range(t + 1), alive_probability(3, 3, b, t), color=color, label=label)
    ax.set_xlabel("deletion requests", fontsize=8)
    ax.set_ylabel("P(serves)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
