"""Draw the S2-orbit study's home-page thumbnail (notebooks/thumbnails/s2orbit.png): S2's orbit in its
plane precessing (exaggerated) and f_SP against the mass inside the orbit with GRAVITY's band."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deletionlab.s2orbit.orbit import F_SP_ERROR, F_SP_MEASURED, S2, f_sp, mass_precession, plane_positions, schwarzschild_precession  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "notebooks" / "thumbnails" / "s2orbit.png"


def main() -> None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(6, 1.8), dpi=100, gridspec_kw={"width_ratios": [1, 2.2]})
    f = np.linspace(0, 2 * np.pi, 361)
    per_orbit = schwarzschild_precession() + float(mass_precession(1000.0, 1.75))
    for k in range(8):
        x, y = plane_positions(S2, f, k * per_orbit * 150)
        ax1.plot(x, y, color="tab:blue", alpha=0.25 + 0.75 * (k == 7), linewidth=0.8 + (k == 7))
    ax1.plot([0], [0], "+", color="black")
    ax1.set_aspect("equal")
    ax1.axis("off")
    masses = np.linspace(0, 4000, 101)
    ax2.axhspan(F_SP_MEASURED - F_SP_ERROR, F_SP_MEASURED + F_SP_ERROR, color="tab:blue", alpha=0.18)
    for g, c in ((1.0, "tab:blue"), (1.75, "black")):
        ax2.plot(masses, f_sp(masses, g), color=c, label=f"γ = {g:g}")
    ax2.axhline(0.81, color="grey", linestyle=":")
    ax2.set_xlabel("mass inside S2's orbit [M☉]", fontsize=7)
    ax2.set_ylabel("f_SP", fontsize=7)
    ax2.tick_params(labelsize=6)
    ax2.legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()
