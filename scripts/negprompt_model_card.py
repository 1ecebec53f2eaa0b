"""Measure the shipped tiny diffusion model and write its model card (README.md next to the weights).

    python scripts/negprompt_model_card.py            # ~5 minutes on a 2-core CPU

Writes, into the model folder: ``README.md`` (the card), ``quality.json`` (measured numbers),
``loss_curve.png`` and ``samples.png``; and the home page's thumbnail ``notebooks/thumbnails/negprompt.png``.
Every number in the card is measured by this script on this machine; nothing is typed in by hand.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load_time(folder: Path) -> float:
    """Seconds for StableDiffusionPipeline.from_pretrained in a fresh process, after imports, offline."""
    code = (
        "import time, os; os.environ['HF_HUB_OFFLINE']='1'\n"
        "from diffusers import StableDiffusionPipeline\n"
        f"t=time.perf_counter(); StableDiffusionPipeline.from_pretrained({str(folder)!r}, local_files_only=True); "
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def loss_curve_png(info: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for ax, key, title in ((axes[0], "vae_loss_curve", "autoencoder (L1 + MSE)"), (axes[1], "unet_loss_curve", "denoiser (ε-MSE)")):
        c = np.array(info.get(key) or [[0, np.nan]])
        ax.plot(c[:, 0], c[:, 1])
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("step")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample_grid(pipe, path: Path, thumb: Path, steps: int, guidance: float) -> list[str]:
    """Rows: single objects; two objects; three objects; a negative prompt starting at k = none, 0, 5, 10, 15."""
    from PIL import Image

    from deletionlab.negprompt import quality, world
    from deletionlab.negprompt.sampler import Settings, run

    rng = np.random.default_rng(5)
    singles = [world.describe(c, s) for c, s in world.all_objects()][:8]
    twos = [world.sample_scene(rng, n_objects=2).caption for _ in range(8)]
    threes = [world.sample_scene(rng, n_objects=3).caption for _ in range(8)]
    rows, notes = [], []
    for caps in (singles, twos, threes):
        imgs = quality.generate(pipe, caps, list(range(len(caps))), steps, guidance)
        rows.append(list(imgs))
        notes.append(" | ".join(caps))
    # negative prompt examples: the prompt leaves B's shape open, the negative names the shape drawn
    prompt, neg = "a red circle above a blue shape", "a blue square"
    ks = [None, 0, 5, 10, 15, 20, 25, 29]
    r = run(pipe, Settings(prompt, neg, steps, guidance, seed=3), windows=[(k, steps) for k in ks[1:]], record=False, previews=False)
    rows.append([r.trunk.image_uint8] + [b.image_uint8 for b in r.branches])
    notes.append(f"'{prompt}' with negative '{neg}' starting at step: none, " + ", ".join(str(k) for k in ks[1:]))
    pad = 2
    h, w = rows[0][0].shape[:2]
    grid = np.full((len(rows) * (h + pad) + pad, 8 * (w + pad) + pad, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, im in enumerate(row[:8]):
            grid[pad + i * (h + pad): pad + i * (h + pad) + h, pad + j * (w + pad): pad + j * (w + pad) + w] = im
    Image.fromarray(grid).resize((grid.shape[1] * 4, grid.shape[0] * 4), Image.NEAREST).save(path)
    thumb.parent.mkdir(parents=True, exist_ok=True)
    top = grid[: 2 * (h + pad) + pad]
    Image.fromarray(top).resize((top.shape[1] * 3, top.shape[0] * 3), Image.NEAREST).save(thumb)
    return notes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--guidances", type=float, nargs="*", default=[2.0, 3.0, 5.0, 7.5])
    args = ap.parse_args(argv)

    from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STEPS, quality
    from deletionlab.negprompt.models import load_pipeline, shipped_path, training_info

    folder = args.model or shipped_path()
    pipe = load_pipeline(folder)
    info = training_info(folder) or {}
    t_load = load_time(folder)
    prompts = quality.evaluation_prompts()
    reports = []
    for g in sorted(set(args.guidances) | {DEFAULT_GUIDANCE}):
        t0 = time.time()
        rep = quality.evaluate(pipe, DEFAULT_STEPS, g, prompts)
        print(f"guidance {g}: {rep.rates} ({time.time() - t0:.0f} s)", flush=True)
        reports.append(rep)
    default = next(r for r in reports if r.guidance == DEFAULT_GUIDANCE)
    loss_curve_png(info, folder / "loss_curve.png")
    notes = sample_grid(pipe, folder / "samples.png", ROOT / "notebooks" / "thumbnails" / "negprompt.png", DEFAULT_STEPS, DEFAULT_GUIDANCE)
    sizes = {p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in folder.iterdir() if p.is_dir()}
    total_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and f.suffix in (".safetensors", ".json", ".txt")) / 2**20
    params = {name: sum(p.numel() for p in getattr(pipe, name).parameters()) for name in ("unet", "vae", "text_encoder")}
    quality_json = {
        "default": {"steps": DEFAULT_STEPS, "guidance": DEFAULT_GUIDANCE, "rates": default.rates, "counts": default.counts,
                    "relations": default.relations},
        "by_guidance": [{"guidance": r.guidance, "rates": r.rates, "relations": r.relations} for r in reports],
        "load_seconds": t_load, "size_mb": total_mb, "parameters": params,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {__import__('os').cpu_count()} cores",
        "measured": time.strftime("%Y-%m-%d"),
    }
    (folder / "quality.json").write_text(json.dumps(quality_json, indent=1))
    cfg = info.get("config", {})
    secs = info.get("seconds", {})
    bar = {"single": 0.8, "two (held out)": 0.6}
    rows = "\n".join(
        f"| {kind} | {default.counts[kind]} | {default.rates[kind]:.0%} | {('≥ ' + format(bar[kind], '.0%')) if kind in bar else '—'} | "
        f"{('met' if default.rates[kind] >= bar[kind] else 'NOT met') if kind in bar else ''} |"
        for kind in default.rates
    )
    by_g = "\n".join(f"| {r.guidance:g} | " + " | ".join(f"{r.rates.get(k, float('nan')):.0%}" for k in default.rates) + " |"
                     for r in reports)
    card = f"""# tiny-shapes-sd — a tiny Stable Diffusion trained on a world of coloured shapes

The embedded default model of Deletion Lab's negative-prompt study. An ordinary diffusers
`StableDiffusionPipeline` checkpoint: load it with
`StableDiffusionPipeline.from_pretrained("{folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder}")`.
Made by `scripts/train_negprompt.py`; this card by `scripts/negprompt_model_card.py` (every number
below is measured by that script; measured {quality_json['measured']} on {quality_json['machine']}).

## Data
Procedurally generated (`deletionlab.negprompt.world`): 32×32 RGB, white background, one to three
objects of distinct colours (shapes circle / square / triangle × colours red / green / blue /
yellow), captions "a red circle", "a red circle above a blue square" (left of / right of / above /
below, true of the rendered positions), "a red circle, a blue square and a green triangle";
{cfg.get('p_partial', 0):.0%} of object descriptions leave the colour or the shape out ("a square",
"a blue shape"); {cfg.get('caption_dropout', 0):.0%} empty captions for classifier-free guidance.
Mix of 1/2/3-object scenes: {cfg.get('p_objects')}. A latent pool of {cfg.get('pool_size', 0):,} scenes.
{len(info.get('held_out_captions', []))} of the 432 two-object captions are held out of training
(compositional hold-out). Every object comes with its ground-truth mask.

## Architecture
| part | class | parameters |
|---|---|---|
| tokenizer | `CLIPTokenizer`, CLIP's BPE vocabulary (49,408 entries), 77 tokens | — |
| text encoder | `CLIPTextModel`, hidden 64, 2 layers, 4 heads | {params['text_encoder']:,} (of which {49408 * 64:,} token embeddings) |
| autoencoder | `AutoencoderKL`, (16, 32) channels, factor 2: 32×32×3 ↔ 16×16×4 | {params['vae']:,} |
| denoiser | `UNet2DConditionModel`, (32, 64, 64) channels, cross-attention at 8×8 and 4×4 | {params['unet']:,} |
| scheduler | `DDIMScheduler`, Stable Diffusion's scaled-linear betas, ε-prediction | — |

Files: {total_mb:.1f} MB in all ({', '.join(f'{k} {v / 2**20:.1f} MB' for k, v in sorted(sizes.items()))}).
`StableDiffusionPipeline.from_pretrained` takes **{t_load:.2f} s** offline (fresh process, after imports).

## Training
Autoencoder: {info.get('vae_steps', 0)} steps, batch {cfg.get('vae_batch')}, AdamW {cfg.get('vae_lr')}, L1 + MSE + {cfg.get('kl_weight')}·KL
({secs.get('vae', 0) / 60:.0f} min). Latent pool encoding: {secs.get('pool', 0) / 60:.0f} min.
Denoiser + text encoder jointly: {info.get('unet_steps', 0)} steps, batch {cfg.get('batch')}, AdamW {cfg.get('lr')}
(warm-up {cfg.get('warmup')}, cosine to {cfg.get('min_lr_ratio')}×), DDPM ε-objective with min-SNR-{cfg.get('min_snr_gamma'):g}
weighting, gradient clipping 1.0, EMA {cfg.get('ema_decay')} (the EMA weights are shipped)
({secs.get('unet', 0) / 60:.0f} min on 2 CPU cores, shared with other work).

![loss curves](loss_curve.png)

## Measured quality
Requested objects all detected (colour and shape, by `deletionlab.negprompt.detect`) at the
default **{DEFAULT_STEPS} DDIM steps, guidance {DEFAULT_GUIDANCE:g}**:

| prompts | n | all objects present | bar | |
|---|---|---|---|---|
{rows}

Two-object prompts with both objects present *and* the relation (left of / right of / above /
below) right: {', '.join(f'{v:.0%}' for v in default.relations.values())}.

By guidance scale (same prompts and seeds):

| guidance | {' | '.join(default.rates)} |
|---|{'---|' * len(default.rates)}
{by_g}

## Samples
![samples](samples.png)

Rows: {notes[0]}; {notes[1]}; {notes[2]}; {notes[3]}.

## Limits
32×32 images, four colours, three shapes, four relations. Words outside the world
({', '.join(sorted(set(info.get('vocabulary', []))))}) were never seen: the text encoder maps them to
untrained embeddings; the explorer says so and still runs. This model exists so that the negative-
prompt study can *measure* removal with ground truth; it is no substitute for a real Stable
Diffusion checkpoint, which the explorer loads unchanged from a local folder or the HF cache.
"""
    (folder / "README.md").write_text(card)
    print(json.dumps(quality_json, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
