"""Denoising with a negative prompt that is active only in a window of steps, recording everything.

Classifier-free guidance with a negative prompt (Ban et al. 2024, Eq. 2) puts the negative prompt
where the empty prompt usually stands::

    ε̂ = ε_base + w · (ε(x_t, c_pos) − ε_base),   ε_base = ε(x_t, c_neg) if start ≤ i < end else ε(x_t, ∅)

The loop below runs the pipeline's own parts (tokenizer, text encoder, UNet, scheduler, VAE) the
way ``StableDiffusionPipeline.__call__`` does, so with the window covering every step it gives the
pipeline's image for the same seed and scheduler (a test checks max |Δpixel| ≤ 1e-3).

It runs several *branches* at once. Branch 0, the **trunk**, never uses the negative prompt; every
other branch has a window ``[start, end)``. A branch is identical to the trunk before its start,
so it is created at its start step from a snapshot of the trunk (latent, scheduler state, random
generator state) and only its suffix is computed; the UNet evaluates all live branches in one
batch. This is what makes a delay sweep cheap and lets a widget re-render a new start step from
the cached trunk.

With ``record=True`` each branch keeps, per step: the latent x_t, the predicted x_0, ε(∅), ε(pos),
ε(neg) (all three evaluated at that branch's x_t) and cross-attention maps of the positive and the
negative prompt's tokens (softmax over the 77 text positions, averaged over heads and over the
layers of one resolution).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STEPS

MAX_STEPS = 150


# ---------------------------------------------------------------------------------------------
# settings and prompts
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """What the user chose. ``start``/``end`` bound the negative prompt's window (end None = to the end)."""

    prompt: str
    negative_prompt: str = ""
    steps: int = DEFAULT_STEPS
    guidance: float = DEFAULT_GUIDANCE
    seed: int = 0
    start: int = 0
    end: int | None = None

    @property
    def window(self) -> tuple[int, int]:
        return (self.start, self.steps if self.end is None else self.end)

    def trunk_key(self) -> tuple:
        """Everything the trunk (the run without the negative prompt) depends on."""
        return (self.prompt, self.steps, float(self.guidance), self.seed)


def validate(settings: Settings) -> list[str]:
    """Raise :class:`UserError` for impossible settings; return notices for odd-but-valid ones."""
    notes = []
    if not settings.prompt or not settings.prompt.strip():
        raise UserError("The prompt is empty: type what the image should show, e.g. 'a red circle above a blue square'.")
    if len(settings.prompt) > 2000 or len(settings.negative_prompt) > 2000:
        raise UserError("Prompts are limited to 2000 characters (the text encoder reads at most 77 tokens anyway).")
    if not isinstance(settings.steps, (int, np.integer)) or not 1 <= settings.steps <= MAX_STEPS:
        raise UserError(f"The number of steps must be between 1 and {MAX_STEPS} (got {settings.steps}).")
    if not (math.isfinite(settings.guidance) and 1.0 <= settings.guidance <= 30.0):
        raise UserError(f"Guidance must be between 1 and 30 (got {settings.guidance}).")
    start, end = settings.window
    if not 0 <= start <= settings.steps:
        raise UserError(f"The negative prompt's start step must be between 0 and {settings.steps} (got {start}).")
    if not 0 <= end <= settings.steps:
        raise UserError(f"The negative prompt's end step must be between 0 and {settings.steps} (got {end}).")
    if start > end:
        raise UserError(f"The start step ({start}) is after the end step ({end}): the negative prompt would never act.")
    neg = settings.negative_prompt.strip()
    if neg and neg.lower() == settings.prompt.strip().lower():
        notes.append("The negative prompt equals the prompt: inside its window guidance cancels out and the image follows the plain conditional prediction.")
    if neg and start == end:
        notes.append("The window is empty: the negative prompt never acts.")
    if neg and settings.guidance == 1.0:
        notes.append("At guidance 1 the negative prompt has no effect (ε̂ = ε(pos)).")
    return notes


@dataclass
class Prompts:
    """Text embeddings of the positive, negative and empty prompts, and their token strings."""

    prompt: str
    negative_prompt: str
    pos: torch.Tensor
    neg: torch.Tensor
    empty: torch.Tensor
    pos_tokens: list[str]
    neg_tokens: list[str]


def _tokens(tokenizer, text: str) -> list[str]:
    ids = tokenizer(text, truncation=True, max_length=tokenizer.model_max_length).input_ids
    return [tokenizer.convert_ids_to_tokens(i).replace("</w>", "") for i in ids]


@torch.no_grad()
def encode(pipe, prompt: str, negative_prompt: str) -> Prompts:
    """Embeddings exactly as the pipeline makes them (``pipe.encode_prompt``)."""
    device = pipe.unet.device
    pos, neg = pipe.encode_prompt(prompt, device, 1, True, negative_prompt or "")
    _, empty = pipe.encode_prompt(prompt, device, 1, True, "")
    return Prompts(prompt, negative_prompt or "", pos, neg, empty, _tokens(pipe.tokenizer, prompt), _tokens(pipe.tokenizer, negative_prompt or ""))


# ---------------------------------------------------------------------------------------------
# cross-attention recording
# ---------------------------------------------------------------------------------------------
class _AttentionStore:
    """Collects cross-attention probabilities of one UNet call, summed per resolution."""

    def __init__(self, n_tokens: int):
        self.n_tokens = n_tokens
        self.active = False
        self.sums: dict[int, torch.Tensor] = {}
        self.counts: dict[int, int] = {}

    def reset(self) -> None:
        self.sums, self.counts = {}, {}

    def add(self, probs: torch.Tensor) -> None:  # probs: (batch, HW, n_tokens)
        hw = probs.shape[1]
        if hw in self.sums:
            self.sums[hw] += probs
            self.counts[hw] += 1
        else:
            self.sums[hw] = probs.clone()
            self.counts[hw] = 1

    def means(self) -> dict[int, torch.Tensor]:
        return {hw: s / self.counts[hw] for hw, s in self.sums.items()}


class _RecordingProcessor:
    """Wraps a UNet attention processor: for cross-attention it also computes softmax(QKᵀ/√d) and
    stores it (averaged over heads). The layer's output is the wrapped processor's, unchanged."""

    def __init__(self, base, store: _AttentionStore):
        self.base = base
        self.store = store

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        if encoder_hidden_states is not None and self.store.active:
            hs = hidden_states
            if hs.ndim == 4:
                b, c, h, w = hs.shape
                hs = hs.view(b, c, h * w).transpose(1, 2)
            ehs = attn.norm_encoder_hidden_states(encoder_hidden_states) if attn.norm_cross else encoder_hidden_states
            q = attn.head_to_batch_dim(attn.to_q(hs))
            k = attn.head_to_batch_dim(attn.to_k(ehs))
            probs = attn.get_attention_scores(q, k, None)
            b = hs.shape[0]
            probs = probs.view(b, attn.heads, probs.shape[1], probs.shape[2]).mean(1)
            self.store.add(probs[:, :, : self.store.n_tokens].float())
        return self.base(attn, hidden_states, encoder_hidden_states, attention_mask, temb, *args, **kwargs)


class recording_attention:
    """Context manager installing :class:`_RecordingProcessor` on every attention layer of a UNet."""

    def __init__(self, unet, n_tokens: int):
        self.unet = unet
        self.store = _AttentionStore(n_tokens)

    def __enter__(self) -> _AttentionStore:
        self.saved = dict(self.unet.attn_processors)
        self.unet.set_attn_processor({k: _RecordingProcessor(p, self.store) for k, p in self.saved.items()})
        return self.store

    def __exit__(self, *exc) -> None:
        self.unet.set_attn_processor(self.saved)


# ---------------------------------------------------------------------------------------------
# trajectories
# ---------------------------------------------------------------------------------------------
@dataclass
class StepRecord:
    """What one branch saw at one denoising step (tensors have a leading batch axis of 1)."""

    index: int
    timestep: int
    latent: torch.Tensor
    x0: torch.Tensor | None = None
    eps: dict[str, torch.Tensor] = field(default_factory=dict)
    #: attention[branch][side] = (n_tokens, side_h, side_w); branch is "pos" or "neg"
    attention: dict[str, dict[int, torch.Tensor]] = field(default_factory=dict)
    negative_active: bool = False


@dataclass
class Trajectory:
    """One branch of a run: its window, per-step records, final latent and decoded image."""

    window: tuple[int, int] | None  # None = the trunk (no negative prompt)
    records: list[StepRecord]
    final_latent: torch.Tensor | None = None
    image: np.ndarray | None = None  # (H, W, 3) float in [0, 1], as the pipeline's output_type="np"
    previews: np.ndarray | None = None  # (steps, H, W, 3) uint8: decoded x0 estimates
    # trunk only: state before each step, so branches can start anywhere, and what it depends on
    snapshots: list[tuple[torch.Tensor, Any, torch.ByteTensor]] | None = None
    key: tuple | None = None

    @property
    def image_uint8(self) -> np.ndarray:
        return (np.clip(self.image, 0, 1) * 255).round().astype(np.uint8)


@dataclass
class Run:
    """The result of :func:`run`: the trunk and one trajectory per requested window."""

    settings: Settings
    prompts: Prompts
    timesteps: list[int]
    trunk: Trajectory
    branches: list[Trajectory]
    notices: list[str] = field(default_factory=list)
    unet_calls: int = 0
    unet_batch_total: int = 0

    @property
    def main(self) -> Trajectory:
        """The branch of ``settings.window`` (or the trunk when there is no negative prompt)."""
        return self.branches[0] if self.branches else self.trunk


def _clone_generator(g: torch.Generator) -> torch.ByteTensor:
    return g.get_state()


def _step_kwargs(pipe, generator: torch.Generator, scheduler) -> dict:
    import inspect

    params = set(inspect.signature(scheduler.step).parameters)
    kw = {}
    if "eta" in params:
        kw["eta"] = 0.0
    if "generator" in params:
        kw["generator"] = generator
    return kw


def _x0_from(scheduler, out, latent, eps, t) -> torch.Tensor:
    x0 = getattr(out, "pred_original_sample", None)
    if x0 is not None:
        return x0
    a = scheduler.alphas_cumprod[int(t)].to(latent.dtype)
    return (latent - (1 - a).sqrt() * eps) / a.sqrt()


@torch.no_grad()
def decode_latents(pipe, latents: torch.Tensor, generator: torch.Generator | None = None, batch: int = 16) -> np.ndarray:
    """VAE-decode latents to float images in [0, 1] (N, H, W, 3), as the pipeline post-processes them."""
    outs = []
    for i in range(0, latents.shape[0], batch):
        img = pipe.vae.decode(latents[i : i + batch] / pipe.vae.config.scaling_factor, return_dict=False, generator=generator)[0]
        outs.append(pipe.image_processor.postprocess(img, output_type="np", do_denormalize=[True] * img.shape[0]))
    return np.concatenate(outs)


def _branch_needs(negative_active: bool, record: bool, has_negative: bool) -> list[str]:
    if record:
        return ["empty", "pos", "neg"] if has_negative else ["empty", "pos"]
    return ["neg", "pos"] if negative_active else ["empty", "pos"]


_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _pipe_lock(pipe) -> threading.Lock:
    """One lock per pipeline: runs on the same pipeline are serialised (attention recording swaps
    the UNet's processors, and two widgets in one kernel may share a cached pipeline)."""
    with _locks_guard:
        return _locks.setdefault(id(pipe), threading.Lock())


def run(pipe, settings: Settings, windows=None, **kwargs) -> Run:
    """See :func:`_run`; serialised per pipeline."""
    with _pipe_lock(pipe):
        return _run(pipe, settings, windows, **kwargs)


@torch.no_grad()
def _run(
    pipe,
    settings: Settings,
    windows: Sequence[tuple[int, int]] | None = None,
    *,
    record: bool = True,
    previews: bool = True,
    trunk: Trajectory | None = None,
    prompts: Prompts | None = None,
    progress: Progress = no_progress,
    cancel: CancelToken | None = None,
) -> Run:
    """Denoise the trunk and one branch per window ``[start, end)`` in shared UNet batches.

    ``windows`` defaults to ``[settings.window]`` when there is a negative prompt, else none.
    ``trunk``: a trunk from an earlier :func:`run` with the same :meth:`Settings.trunk_key` (and
    made with snapshots); then only the branches' suffixes are computed.
    """
    notices = validate(settings)
    steps = settings.steps
    has_neg = bool(settings.negative_prompt.strip())
    if windows is None:
        windows = [settings.window] if has_neg else []
    windows = [(int(s), int(e)) for s, e in windows]
    for s, e in windows:
        validate(Settings(settings.prompt, settings.negative_prompt, steps, settings.guidance, settings.seed, s, e))
    prompts = prompts or encode(pipe, settings.prompt, settings.negative_prompt)
    device, dtype = pipe.unet.device, prompts.pos.dtype
    w = float(settings.guidance)

    scheduler = copy.deepcopy(pipe.scheduler)
    scheduler.set_timesteps(steps, device=device)
    timesteps = [int(t) for t in scheduler.timesteps]
    generator = torch.Generator(device="cpu").manual_seed(int(settings.seed))
    h = pipe.unet.config.sample_size * pipe.vae_scale_factor
    latents0 = pipe.prepare_latents(1, pipe.unet.config.in_channels, h, h, dtype, device, generator, None)

    n_tok = max(len(prompts.pos_tokens), len(prompts.neg_tokens), 2)
    embeds = {"empty": prompts.empty, "pos": prompts.pos, "neg": prompts.neg}

    # ---- state of every live branch: index 0 = trunk ---------------------------------------
    reuse = trunk is not None and trunk.snapshots is not None and len(trunk.snapshots) == steps
    if reuse and trunk.key != settings.trunk_key():
        raise ValueError("the cached trunk was made with another prompt, seed, step count or guidance")
    trunk_traj = trunk if reuse else Trajectory(window=None, records=[], snapshots=[], key=settings.trunk_key())
    branches = [Trajectory(window=win, records=[]) for win in windows]
    live: dict[int, dict] = {}  # branch id -> {latent, scheduler, generator}
    if not reuse:
        live[-1] = {"latent": latents0, "scheduler": scheduler, "generator": generator}
    first = min([s for s, e in windows if s < e], default=steps) if reuse else 0
    # a branch with an empty window is the trunk itself
    for j, (s, e) in enumerate(windows):
        if s >= e:
            branches[j].window = (s, e)

    unet_calls = batch_total = 0
    store_ctx = recording_attention(pipe.unet, n_tok) if record else None
    store = store_ctx.__enter__() if store_ctx else None
    try:
        for i in range(first, steps):
            check_cancel(cancel)
            t = scheduler.timesteps[i]
            # branches that start now leave the trunk here
            for j, (s, e) in enumerate(windows):
                if s == i and s < e:
                    lat, sch, gstate = (trunk_traj.snapshots[i] if reuse else (live[-1]["latent"], live[-1]["scheduler"], generator.get_state()))
                    g = torch.Generator(device="cpu")
                    g.set_state(gstate.clone() if reuse else gstate)
                    live[j] = {"latent": lat.clone(), "scheduler": copy.deepcopy(sch), "generator": g}
            if not live:
                continue
            if -1 in live:
                trunk_traj.snapshots.append((live[-1]["latent"].clone(), copy.deepcopy(live[-1]["scheduler"]), live[-1]["generator"].get_state()))
            # one batched UNet call for all live branches
            lat_in, emb_in, layout = [], [], []
            for j, st in live.items():
                active = j >= 0 and windows[j][0] <= i < windows[j][1]
                needs = _branch_needs(active, record, has_neg)
                x_in = st["scheduler"].scale_model_input(st["latent"], t) if hasattr(st["scheduler"], "scale_model_input") else st["latent"]
                for name in needs:
                    lat_in.append(x_in)
                    emb_in.append(embeds[name])
                layout.append((j, active, needs))
            x = torch.cat(lat_in)
            if store is not None:
                store.reset()
                store.active = True
            eps_all = pipe.unet(x, t, encoder_hidden_states=torch.cat(emb_in), return_dict=False)[0]
            if store is not None:
                store.active = False
                att_means = store.means()
            unet_calls += 1
            batch_total += x.shape[0]
            pos_ = 0
            for j, active, needs in layout:
                st = live[j]
                eps = {name: eps_all[pos_ + k : pos_ + k + 1] for k, name in enumerate(needs)}
                base = eps["neg"] if active else eps["empty"]
                guided = base + w * (eps["pos"] - base)
                sch = st["scheduler"]
                out = sch.step(guided, t, st["latent"], **_step_kwargs(pipe, st["generator"], sch), return_dict=True)
                traj = trunk_traj if j < 0 else branches[j]
                rec = StepRecord(index=i, timestep=int(t), latent=st["latent"], negative_active=active)
                if record:
                    rec.x0 = _x0_from(sch, out, st["latent"], guided, t)
                    rec.eps = {k: v.clone() for k, v in eps.items()}
                    rec.attention = _split_attention(att_means, pos_, needs, h // pipe.vae_scale_factor)
                elif previews:
                    rec.x0 = _x0_from(sch, out, st["latent"], guided, t)
                traj.records.append(rec)
                st["latent"] = out.prev_sample
                pos_ += len(needs)
            progress(i + 1 - first, steps - first, f"step {i + 1}/{steps}")
    finally:
        if store_ctx is not None:
            store_ctx.__exit__(None, None, None)

    # ---- finish: final latents, branches that never left the trunk, decoding -------------------
    if -1 in live:
        trunk_traj.final_latent = live.pop(-1)["latent"]
    for j, st in live.items():
        branches[j].final_latent = st["latent"]
    for j, (s, e) in enumerate(windows):
        if s >= e:  # an empty window: the trunk itself
            branches[j] = Trajectory(window=(s, e), records=list(trunk_traj.records), final_latent=trunk_traj.final_latent,
                                     image=trunk_traj.image, previews=trunk_traj.previews)
        elif s > 0 and branches[j].records and branches[j].records[0].index != 0:
            # share the trunk's records before the branch started (same objects, no copies)
            branches[j].records = trunk_traj.records[:s] + branches[j].records
    to_decode = [tr for tr in [trunk_traj, *branches] if tr.image is None and tr.final_latent is not None]
    if to_decode:
        imgs = decode_latents(pipe, torch.cat([tr.final_latent for tr in to_decode]))
        for tr, im in zip(to_decode, imgs):
            tr.image = im
    if previews:
        _decode_previews(pipe, [trunk_traj, *branches])
    return Run(settings, prompts, timesteps, trunk_traj, branches, notices, unet_calls, batch_total)


def _split_attention(att_means: dict[int, torch.Tensor], start: int, needs: list[str], latent_side: int) -> dict[str, dict[int, torch.Tensor]]:
    out: dict[str, dict[int, torch.Tensor]] = {}
    for name in ("pos", "neg"):
        if name not in needs:
            continue
        k = start + needs.index(name)
        maps = {}
        for hw, m in att_means.items():
            side = int(round(math.sqrt(hw)))
            maps[side] = m[k].T.reshape(m.shape[2], side, hw // side).clone()
        out[name] = maps
    return out


def _decode_previews(pipe, trajs: list[Trajectory]) -> None:
    """Decode the x0 estimate of every step (small latents: exact VAE decode; large: a cheap
    linear latent→RGB approximation, marked approximate in the UI)."""
    need = [tr for tr in trajs if tr.previews is None and tr.records and all(r.x0 is not None for r in tr.records)]
    if not need:
        return
    side = need[0].records[0].x0.shape[-1]
    for tr in need:
        x0 = torch.cat([r.x0 for r in tr.records])
        if side <= 32:
            tr.previews = (np.clip(decode_latents(pipe, x0), 0, 1) * 255).round().astype(np.uint8)
        else:
            tr.previews = approximate_rgb(x0)


# Stable Diffusion 1.x latent -> RGB linear factors (a widely used community approximation).
_SD_LATENT_RGB = torch.tensor([[0.298, 0.207, 0.208], [0.187, 0.286, 0.173], [-0.158, 0.189, 0.264], [-0.184, -0.271, -0.473]])


def approximate_rgb(latents: torch.Tensor) -> np.ndarray:
    """A fast preview of SD 1.x latents without the VAE (approximate colours, latent resolution)."""
    rgb = torch.einsum("bchw,cr->bhwr", latents.float(), _SD_LATENT_RGB[: latents.shape[1]])
    return (((rgb + 1) / 2).clamp(0, 1) * 255).round().byte().numpy()


# ---------------------------------------------------------------------------------------------
# the same windows through the pipeline itself (reference, tests, export)
# ---------------------------------------------------------------------------------------------
def delayed_negative_callback(pipe, prompt: str, negative_prompt: str, start: int, end: int | None = None):
    """A ``callback_on_step_end`` for ``StableDiffusionPipeline`` that switches the negative prompt
    on after step ``start - 1`` and off again after step ``end - 1`` (call the pipeline with
    ``negative_prompt=""`` when ``start > 0``). The export's diffusers snippet is this function."""
    device = pipe.unet.device
    pos, neg = pipe.encode_prompt(prompt, device, 1, True, negative_prompt)
    _, empty = pipe.encode_prompt(prompt, device, 1, True, "")

    def callback(p, i, t, kwargs):
        if i == start - 1:
            kwargs["prompt_embeds"] = torch.cat([neg, pos])
        if end is not None and i == end - 1:
            kwargs["prompt_embeds"] = torch.cat([empty, pos])
        return kwargs

    return callback


@torch.no_grad()
def pipeline_image(pipe, settings: Settings) -> np.ndarray:
    """The image ``StableDiffusionPipeline.__call__`` makes for these settings (window included)."""
    start, end = settings.window
    has_neg = bool(settings.negative_prompt.strip()) and start < end
    kwargs: dict[str, Any] = {}
    neg = ""
    if has_neg:
        if start == 0 and end >= settings.steps:
            neg = settings.negative_prompt
        else:
            neg = settings.negative_prompt if start == 0 else ""
            kwargs["callback_on_step_end"] = delayed_negative_callback(
                pipe, settings.prompt, settings.negative_prompt, start, end if end < settings.steps else None
            )
            kwargs["callback_on_step_end_tensor_inputs"] = ["prompt_embeds"]
    out = pipe(
        settings.prompt,
        negative_prompt=neg,
        num_inference_steps=settings.steps,
        guidance_scale=settings.guidance,
        generator=torch.Generator(device="cpu").manual_seed(int(settings.seed)),
        output_type="np",
        **kwargs,
    )
    return out.images[0]
