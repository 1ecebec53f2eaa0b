"""Denoising with a negative prompt that is active only in a window of steps, recording everything.

Classifier-free guidance with a negative prompt (Ban et al. 2024, Eq. 2) puts the negative prompt
where the empty prompt usually stands::

    ε̂ = ε_base + w · (ε(x_t, c_pos) − ε_base),   ε_base = ε(x_t, c_neg) if start ≤ i < end else ε(x_t, ∅)

:func:`run` reads like ``StableDiffusionPipeline.__call__`` and runs the pipeline's own parts
(tokenizer, text encoder, UNet, scheduler, VAE) the same way: check the inputs (:func:`validate`),
encode the prompts (:func:`encode`), prepare the latents and timesteps, denoise step by step, decode.
With the window covering every step it gives the pipeline's image for the same seed and scheduler
(a test checks max |Δpixel| ≤ 1e-3); :func:`pipeline_image` runs the pipeline itself, with a
:class:`~deletionlab.negprompt.callback.NegativeWindowCallback` for a window.

It runs several *branches* at once. The **trunk** never uses the negative prompt; every other
branch has a window ``[start, end)``. A branch is identical to the trunk before its start, so it
is created at its start step from a snapshot of the trunk (latent, scheduler state, random
generator state) and only its suffix is computed; the UNet evaluates all live branches in one
batch. This is what makes a delay sweep cheap and lets a widget re-render a new start step from
the cached trunk.

With ``record=True`` each branch keeps, per step: the latent x_t, the predicted x_0, ε(∅), ε(pos),
ε(neg) (all three evaluated at that branch's x_t) and cross-attention maps of the positive and the
negative prompt's tokens (softmax over the 77 text positions, averaged over heads and over the
layers of one resolution; recorded inside a ``with record_attention(unet, n_tokens)`` block).
"""

from __future__ import annotations

import copy
import inspect
import math
import pickle
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deletionlab.core.jobs import CancelToken, Progress, UserError, check_cancel, no_progress
from deletionlab.negprompt import DEFAULT_GUIDANCE, DEFAULT_STEPS

MAX_STEPS = 150
MAX_PROMPT_CHARS = 2000  # far more than the 77 tokens the text encoder reads; longer text is a mistake
GUIDANCE_RANGE = (1.0, 30.0)
#: seeds are whole numbers that fit torch's generator and every UI's integer box: 0 .. 2³² − 1
MAX_SEED = 2**32 - 1
#: a notice quotes at most this many characters of the text the encoder dropped
DROPPED_SHOWN = 60


# ---------------------------------------------------------------------------------------------
# settings, their validation, prompts
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

    @property
    def has_negative(self) -> bool:
        return bool(self.negative_prompt.strip())

    def trunk_key(self) -> tuple:
        """Everything the trunk (the run without the negative prompt) depends on."""
        return (self.prompt, self.steps, float(self.guidance), self.seed)


def shown(value: Any) -> str:
    """A value as a message may quote it: short whatever it is (a 309-digit number becomes
    "a 309-digit number", a long text its first characters, an object its type)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        digits = str(abs(int(value)))
        return str(int(value)) if len(digits) <= 12 else f"a {len(digits)}-digit number"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, str):
        return repr(value[:20] + ("…" if len(value) > 20 else ""))
    return f"a {type(value).__name__}"


def _whole(value: Any, lo: int, hi: int) -> bool:
    """A whole number (not a bool, not a float) within [lo, hi]."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and lo <= value <= hi


def check_steps(steps: Any) -> int:
    """The step count, or :class:`UserError` naming its range."""
    if not _whole(steps, 1, MAX_STEPS):
        raise UserError(f"The number of steps must be a whole number between 1 and {MAX_STEPS} (got {shown(steps)}).")
    return int(steps)


def check_seed(seed: Any) -> int:
    """The seed, or :class:`UserError` naming its range."""
    if not _whole(seed, 0, MAX_SEED):
        raise UserError(f"The seed must be a whole number between 0 and {MAX_SEED:,} (got {shown(seed)}).")
    return int(seed)


def check_guidance(guidance: Any) -> float:
    """The guidance scale, or :class:`UserError` naming its range."""
    lo, hi = GUIDANCE_RANGE
    ok = isinstance(guidance, (int, float, np.integer, np.floating)) and not isinstance(guidance, bool)
    if not (ok and math.isfinite(guidance) and lo <= guidance <= hi):
        raise UserError(f"Guidance must be a number between {lo:g} and {hi:g} (got {shown(guidance)}).")
    return float(guidance)


def _check_window(start: Any, end: Any, steps: int) -> None:
    if not _whole(start, 0, steps):
        raise UserError(f"The negative prompt's start step must be a whole number between 0 and {steps} (got {shown(start)}).")
    if not _whole(end, 0, steps):
        raise UserError(f"The negative prompt's end step must be a whole number between 0 and {steps} (got {shown(end)}).")
    if start > end:
        raise UserError(f"The start step ({start}) is after the end step ({end}): the negative prompt would never act.")


def _check_prompts(settings: Settings) -> None:
    for name, text in (("prompt", settings.prompt), ("negative prompt", settings.negative_prompt)):
        if not isinstance(text, str):
            raise UserError(f"The {name} must be text of at most {MAX_PROMPT_CHARS} characters (got {shown(text)}).")
        if len(text) > MAX_PROMPT_CHARS:
            raise UserError(f"The {name} is limited to {MAX_PROMPT_CHARS} characters (the text encoder reads at most 77 tokens anyway).")
    if not settings.prompt.strip():
        raise UserError("The prompt is empty: type what the image should show, e.g. 'a red circle above a blue square'.")


def validate(settings: Settings, windows: Sequence[tuple[int, int]] = ()) -> list[str]:
    """Raise :class:`UserError` for impossible settings (or extra ``windows``); return notices for
    odd-but-valid ones. The one place the sampler's ranges are checked: prompts (text, at most
    :data:`MAX_PROMPT_CHARS`), steps (1..:data:`MAX_STEPS`), guidance (:data:`GUIDANCE_RANGE`), seed
    (0..:data:`MAX_SEED`), window steps (0..steps, start ≤ end). Messages quote values short (:func:`shown`)."""
    _check_prompts(settings)
    steps = check_steps(settings.steps)
    check_guidance(settings.guidance)
    check_seed(settings.seed)
    start, end = settings.window
    for s, e in [(start, end), *windows]:
        _check_window(s, e, steps)
    notes = []
    neg = settings.negative_prompt.strip()
    if neg and neg.lower() == settings.prompt.strip().lower():
        notes.append("The negative prompt equals the prompt: inside its window guidance cancels out and the image follows "
                     "the plain conditional prediction.")
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
    notices: list[str] = field(default_factory=list)  # e.g. the part of a long prompt the encoder dropped

    @property
    def embeddings(self) -> dict[str, torch.Tensor]:
        return {"empty": self.empty, "pos": self.pos, "neg": self.neg}

    @property
    def n_tokens(self) -> int:
        """How many text positions the attention maps keep (the longer prompt's tokens)."""
        return max(len(self.pos_tokens), len(self.neg_tokens), 2)


def _tokens(tokenizer, text: str) -> list[str]:
    ids = tokenizer(text, truncation=True, max_length=tokenizer.model_max_length).input_ids
    return [tokenizer.convert_ids_to_tokens(i).replace("</w>", "") for i in ids]


def dropped_text(tokenizer, text: str) -> str:
    """The end of ``text`` that the text encoder never reads (it keeps ``model_max_length`` tokens,
    start and end markers included, and truncates the rest silently); "" if it all fits."""
    limit = tokenizer.model_max_length
    ids = tokenizer(text, truncation=False, verbose=False).input_ids
    if len(ids) <= limit:
        return ""
    return tokenizer.decode(ids[limit - 1 : -1], skip_special_tokens=True).strip()


def truncation_notices(tokenizer, prompt: str, negative_prompt: str) -> list[str]:
    """A notice per prompt that is longer than the text encoder reads, quoting what was dropped."""
    out = []
    for name, text in (("prompt", prompt), ("negative prompt", negative_prompt)):
        lost = dropped_text(tokenizer, text) if text else ""
        if lost:
            half = DROPPED_SHOWN // 2
            quote = lost if len(lost) <= DROPPED_SHOWN else f"{lost[:half].rstrip()} … {lost[-half:].lstrip()}"
            out.append(f"The {name} is longer than the {tokenizer.model_max_length} tokens the text encoder reads; "
                       f"it ignores the end: '{quote}'.")
    return out


@torch.no_grad()
def encode(pipe, prompt: str, negative_prompt: str) -> Prompts:
    """Embeddings exactly as the pipeline makes them (``pipe.encode_prompt``), with a notice for
    any prompt the encoder truncates."""
    device = pipe.unet.device
    negative_prompt = negative_prompt or ""
    pos, neg = pipe.encode_prompt(prompt, device, 1, True, negative_prompt)
    _, empty = pipe.encode_prompt(prompt, device, 1, True, "")
    tok = pipe.tokenizer
    return Prompts(prompt, negative_prompt, pos, neg, empty, _tokens(tok, prompt), _tokens(tok, negative_prompt),
                   truncation_notices(tok, prompt, negative_prompt))


# ---------------------------------------------------------------------------------------------
# cross-attention recording
# ---------------------------------------------------------------------------------------------
class AttentionStore:
    """Collects cross-attention probabilities of one UNet call, summed per resolution."""

    def __init__(self, n_tokens: int):
        self.n_tokens = n_tokens
        self.active = False
        self.sums: dict[int, torch.Tensor] = {}
        self.counts: dict[int, int] = {}

    @contextmanager
    def capturing(self) -> Iterator[AttentionStore]:
        """Record the attention of the UNet calls inside the block (and only those)."""
        self.sums, self.counts = {}, {}
        self.active = True
        try:
            yield self
        finally:
            self.active = False

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

    def __init__(self, base, store: AttentionStore):
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


@contextmanager
def record_attention(unet, n_tokens: int) -> Iterator[AttentionStore]:
    """``with record_attention(unet, n) as store:`` -- every attention layer of ``unet`` also records
    its cross-attention into ``store`` (inside ``store.capturing()``); the processors are restored after."""
    store = AttentionStore(n_tokens)
    saved = dict(unet.attn_processors)
    unet.set_attn_processor({k: _RecordingProcessor(p, store) for k, p in saved.items()})
    try:
        yield store
    finally:
        unet.set_attn_processor(saved)


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


#: the state of the trunk before one step: (latent, the pickled scheduler, random generator state).
#: The scheduler is kept pickled (a copy either way) so that reading a stored run does not import
#: diffusers: only branching from the snapshot, which needs the pipeline anyway, unpickles it.
Snapshot = tuple[torch.Tensor, bytes, torch.ByteTensor]


@dataclass
class Trajectory:
    """One branch of a run: its window, per-step records, final latent and decoded image."""

    window: tuple[int, int] | None  # None = the trunk (no negative prompt)
    records: list[StepRecord]
    final_latent: torch.Tensor | None = None
    image: np.ndarray | None = None  # (H, W, 3) float in [0, 1], as the pipeline's output_type="np"
    previews: np.ndarray | None = None  # (steps, H, W, 3) uint8: decoded x0 estimates
    # trunk only: state before each step, so branches can start anywhere, and what it depends on
    snapshots: list[Snapshot] | None = None
    key: tuple | None = None

    @property
    def image_uint8(self) -> np.ndarray:
        return (np.clip(self.image, 0, 1) * 255).round().astype(np.uint8)

    def negative_active(self, i: int) -> bool:
        return self.window is not None and self.window[0] <= i < self.window[1]


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


@dataclass
class _Branch:
    """A branch while it is being denoised: the trajectory it writes and its own sampling state."""

    trajectory: Trajectory
    latent: torch.Tensor
    scheduler: Any
    generator: torch.Generator

    @classmethod
    def from_snapshot(cls, trajectory: Trajectory, snapshot: Snapshot) -> _Branch:
        latent, scheduler, generator_state = snapshot
        g = torch.Generator(device="cpu")
        g.set_state(generator_state.clone())
        return cls(trajectory, latent.clone(), pickle.loads(scheduler), g)

    def snapshot(self) -> Snapshot:
        return (self.latent.clone(), pickle.dumps(self.scheduler, protocol=pickle.HIGHEST_PROTOCOL), self.generator.get_state())

    def noise_inputs(self, i: int, record: bool, has_negative: bool) -> list[str]:
        """Which noise predictions this branch needs at step i (all three when recording)."""
        if record:
            return ["empty", "pos", "neg"] if has_negative else ["empty", "pos"]
        return ["neg", "pos"] if self.trajectory.negative_active(i) else ["empty", "pos"]


def _step_kwargs(generator: torch.Generator, scheduler) -> dict:
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


_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def _pipe_lock(pipe) -> threading.Lock:
    """One lock per pipeline: runs on the same pipeline are serialised (attention recording swaps
    the UNet's processors, and two widgets in one kernel may share a cached pipeline)."""
    with _locks_guard:
        return _locks.setdefault(id(pipe), threading.Lock())


# ---------------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def run(
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
    made with snapshots); then only the branches' suffixes are computed. ``prompts``: embeddings of
    these prompts from :func:`encode`. Runs on one pipeline are serialised.
    """
    notices = validate(settings, windows or ())  # before anything converts a value
    if windows is None:
        windows = [settings.window] if settings.has_negative else []
    windows = [(int(s), int(e)) for s, e in windows]
    with _pipe_lock(pipe):
        prompts = prompts or encode(pipe, settings.prompt, settings.negative_prompt)
        notices += [n for n in prompts.notices if n not in notices]
        loop = _BranchedDenoiser(pipe, settings, windows, prompts, trunk, record=record, previews=previews)
        steps = settings.steps
        with record_attention(pipe.unet, prompts.n_tokens) if record else nullcontext() as store:
            for i in range(loop.first, steps):
                check_cancel(cancel)
                loop.step(i, store)
                progress(i + 1 - loop.first, steps - loop.first, f"step {i + 1}/{steps}")
        return loop.finish(notices)


class _BranchedDenoiser:
    """The state of one :func:`run`: scheduler and timesteps, the trunk, the branches, the live ones."""

    def __init__(self, pipe, settings: Settings, windows: list[tuple[int, int]], prompts: Prompts,
                 trunk: Trajectory | None, *, record: bool, previews: bool) -> None:
        self.pipe, self.settings, self.prompts = pipe, settings, prompts
        self.record, self.previews = record, previews
        self.scheduler = copy.deepcopy(pipe.scheduler)
        self.scheduler.set_timesteps(settings.steps, device=pipe.unet.device)
        self.timesteps = [int(t) for t in self.scheduler.timesteps]
        self.branches = [Trajectory(window=w, records=[]) for w in windows]
        self.unet_calls = self.unet_batch_total = 0
        reuse = trunk is not None and trunk.snapshots is not None and len(trunk.snapshots) == settings.steps
        if reuse and trunk.key != settings.trunk_key():
            raise ValueError("the cached trunk was made with another prompt, seed, step count or guidance")
        if reuse:  # the trunk is done: start at the first branch
            self.trunk, self.live = trunk, []
            self.first = min([s for s, e in windows if s < e], default=settings.steps)
        else:
            self.trunk = Trajectory(window=None, records=[], snapshots=[], key=settings.trunk_key())
            self.live = [self._prepare_trunk()]
            self.first = 0
        self.trunk_live = not reuse

    def _prepare_trunk(self) -> _Branch:
        """The initial noise, as ``StableDiffusionPipeline.prepare_latents`` draws it for this seed."""
        pipe = self.pipe
        generator = torch.Generator(device="cpu").manual_seed(int(self.settings.seed))
        h = pipe.unet.config.sample_size * pipe.vae_scale_factor
        latents = pipe.prepare_latents(1, pipe.unet.config.in_channels, h, h, self.prompts.pos.dtype, pipe.unet.device, generator, None)
        return _Branch(self.trunk, latents, self.scheduler, generator)

    def step(self, i: int, store: AttentionStore | None) -> None:
        """One denoising step of every live branch (one batched UNet call)."""
        t = self.scheduler.timesteps[i]
        if self.trunk_live:
            self.trunk.snapshots.append(self.live[0].snapshot())
        for traj in self.branches:  # branches that start now leave the trunk here
            s, e = traj.window
            if s == i and s < e:
                self.live.append(_Branch.from_snapshot(traj, self.trunk.snapshots[i]))
        if not self.live:
            return
        needs = [b.noise_inputs(i, self.record, self.settings.has_negative) for b in self.live]
        eps_all, attention = self._predict_noise(t, needs, store)
        offset = 0
        for branch, names in zip(self.live, needs):
            eps = {name: eps_all[offset + k : offset + k + 1] for k, name in enumerate(names)}
            record = self._advance(branch, i, t, eps)
            if self.record:
                record.attention = _split_attention(attention, offset, names)
            offset += len(names)

    def _predict_noise(self, t, needs: list[list[str]], store: AttentionStore | None) -> tuple[torch.Tensor, dict]:
        """ε for every (branch, prompt) pair in one UNet batch, and the attention of that call."""
        embeds = self.prompts.embeddings
        lat_in, emb_in = [], []
        for branch, names in zip(self.live, needs):
            sch = branch.scheduler
            x_in = sch.scale_model_input(branch.latent, t) if hasattr(sch, "scale_model_input") else branch.latent
            lat_in += [x_in] * len(names)
            emb_in += [embeds[name] for name in names]
        x = torch.cat(lat_in)
        with store.capturing() if store is not None else nullcontext():
            eps_all = self.pipe.unet(x, t, encoder_hidden_states=torch.cat(emb_in), return_dict=False)[0]
        self.unet_calls += 1
        self.unet_batch_total += x.shape[0]
        return eps_all, (store.means() if store is not None else {})

    def _advance(self, branch: _Branch, i: int, t, eps: dict[str, torch.Tensor]) -> StepRecord:
        """Guidance with the branch's negative (or empty) prompt, one scheduler step, its record."""
        active = branch.trajectory.negative_active(i)
        base = eps["neg"] if active else eps["empty"]
        guided = base + float(self.settings.guidance) * (eps["pos"] - base)
        sch = branch.scheduler
        out = sch.step(guided, t, branch.latent, **_step_kwargs(branch.generator, sch), return_dict=True)
        rec = StepRecord(index=i, timestep=int(t), latent=branch.latent, negative_active=active)
        if self.record or self.previews:
            rec.x0 = _x0_from(sch, out, branch.latent, guided, t)
        if self.record:
            rec.eps = {k: v.clone() for k, v in eps.items()}
        branch.trajectory.records.append(rec)
        branch.latent = out.prev_sample
        return rec

    def finish(self, notices: list[str]) -> Run:
        """Final latents, branches that never left the trunk, decoding (as the pipeline does)."""
        trunk = self.trunk
        for branch in self.live:
            branch.trajectory.final_latent = branch.latent
        for j, traj in enumerate(self.branches):
            s, e = traj.window
            if s >= e:  # an empty window: the trunk itself
                self.branches[j] = Trajectory(window=(s, e), records=list(trunk.records), final_latent=trunk.final_latent,
                                              image=trunk.image, previews=trunk.previews)
            elif s > 0 and traj.records and traj.records[0].index != 0:
                # share the trunk's records before the branch started (same objects, no copies)
                traj.records = trunk.records[:s] + traj.records
        to_decode = [tr for tr in [trunk, *self.branches] if tr.image is None and tr.final_latent is not None]
        if to_decode:
            imgs = decode_latents(self.pipe, torch.cat([tr.final_latent for tr in to_decode]))
            for tr, im in zip(to_decode, imgs):
                tr.image = im
        if self.previews:
            _decode_previews(self.pipe, [trunk, *self.branches])
        return Run(self.settings, self.prompts, self.timesteps, trunk, self.branches, notices, self.unet_calls, self.unet_batch_total)


def _split_attention(att_means: dict[int, torch.Tensor], start: int, needs: list[str]) -> dict[str, dict[int, torch.Tensor]]:
    """Maps of the batch entries from ``start`` on, per prompt and resolution: {"pos"/"neg": {side: (n_tokens, side, side)}}."""
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
@torch.no_grad()
def pipeline_image(pipe, settings: Settings) -> np.ndarray:
    """The image ``StableDiffusionPipeline.__call__`` makes for these settings (window included)."""
    from deletionlab.negprompt.callback import NegativeWindowCallback  # diffusers only when the pipeline runs

    start, end = settings.window
    kwargs: dict[str, Any] = {}
    neg = ""
    if settings.has_negative and start < end:
        if start == 0 and end >= settings.steps:
            neg = settings.negative_prompt
        else:
            neg = settings.negative_prompt if start == 0 else ""
            kwargs["callback_on_step_end"] = NegativeWindowCallback(
                settings.prompt, settings.negative_prompt, start, end if end < settings.steps else None
            )
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


def __getattr__(name: str):
    """``sampler.NegativeWindowCallback`` still works; it lives in :mod:`.callback` so that reading a
    stored run (a dashboard's default from the shared cache) does not import diffusers."""
    if name == "NegativeWindowCallback":
        from deletionlab.negprompt.callback import NegativeWindowCallback

        return NegativeWindowCallback
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
