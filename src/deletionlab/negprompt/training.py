"""Training of the shipped tiny Stable Diffusion on the world of coloured shapes.

Three resumable phases, each checkpointed in a work folder:

1. **autoencoder** -- ``AutoencoderKL`` (factor 2) trained to reconstruct scenes (L1 + MSE + a
   small KL term), on scenes drawn on the fly;
2. **latent pool** -- a fixed pool of scenes (seeded, the compositional hold-out excluded) encoded
   once to latents (the autoencoder's mode), scaled to unit variance (``scaling_factor``);
3. **denoiser** -- ``UNet2DConditionModel`` and ``CLIPTextModel`` trained jointly with the DDPM
   ε-objective (min-SNR-5 weighting), 10 % empty captions for classifier-free guidance, AdamW with
   warm-up and cosine decay, EMA of the weights (the EMA is what is exported).

``export`` writes an ordinary diffusers ``StableDiffusionPipeline`` folder that
``StableDiffusionPipeline.from_pretrained`` loads unchanged. The command-line entry point is
``scripts/train_negprompt.py``; a test runs a few steps of the ``small`` configuration.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress
from deletionlab.negprompt import tinymodel, world


@dataclass
class TrainConfig:
    """Every knob of a training run (stored in the work folder and in the model card)."""

    small: bool = False
    seed: int = 0
    vae_steps: int = 1500
    vae_batch: int = 32
    vae_lr: float = 1e-3
    kl_weight: float = 1e-5
    pool_size: int = 200_000
    p_objects: tuple = (0.35, 0.5, 0.15)
    p_partial: float = 0.12
    unet_steps: int = 6000
    batch: int = 64
    lr: float = 1e-3
    warmup: int = 200
    min_lr_ratio: float = 0.1
    ema_decay: float = 0.999
    caption_dropout: float = 0.1
    min_snr_gamma: float = 5.0
    checkpoint_every: int = 200
    threads: int = 0  # 0 = torch's default
    held_out_fraction: float = 0.15

    @classmethod
    def tiny(cls) -> TrainConfig:
        """A configuration that trains in seconds (tests only: the result is not a useful model)."""
        return cls(small=True, vae_steps=3, vae_batch=4, pool_size=32, unet_steps=4, batch=4, warmup=2, checkpoint_every=2)


@dataclass
class TrainState:
    phase: str = "vae"
    vae_step: int = 0
    unet_step: int = 0
    vae_losses: list = field(default_factory=list)
    unet_losses: list = field(default_factory=list)
    seconds: dict = field(default_factory=lambda: {"vae": 0.0, "pool": 0.0, "unet": 0.0})


def _atomic_save(obj, path: Path) -> None:
    import torch

    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.unet_steps - cfg.warmup)
    t = min(1.0, t)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t)))


def images_to_tensor(images: list[np.ndarray]):
    """uint8 (H, W, 3) images -> float tensor (N, 3, H, W) in [-1, 1] (Stable Diffusion's range)."""
    import torch

    arr = np.stack(images).astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()


class Trainer:
    """Resumable trainer. ``work`` holds checkpoints, the latent pool and the loss history."""

    def __init__(self, work: Path, cfg: TrainConfig | None = None, log: Callable[[str], None] | None = None,
                 tokenizer_from: Path | None = None):
        """``tokenizer_from``: a folder with the tokenizer files to use (e.g. the shipped model's
        ``tokenizer/``) instead of converting CLIP's BPE file (which needs clip-anytorch)."""
        import torch

        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.log = log or (lambda s: None)
        cfg_path = self.work / "config.json"
        if cfg is None:
            cfg = TrainConfig(**json.loads(cfg_path.read_text())) if cfg_path.exists() else TrainConfig()
        self.cfg = cfg
        cfg_path.write_text(json.dumps(asdict(cfg), indent=1))
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        tok_dir = self.work / "tokenizer"
        if tokenizer_from is not None:
            from transformers import CLIPTokenizer

            self.tokenizer = CLIPTokenizer.from_pretrained(str(tokenizer_from))
        else:
            if not (tok_dir / "vocab.json").exists():
                tinymodel.write_clip_tokenizer_files(tok_dir)
            self.tokenizer = tinymodel.build_tokenizer(tok_dir)
        parts = tinymodel.build_components(self.tokenizer, small=cfg.small, seed=cfg.seed)
        self.vae, self.unet, self.text_encoder = parts["vae"], parts["unet"], parts["text_encoder"]
        self.scheduler = parts["scheduler"]
        from diffusers import DDPMScheduler

        self.train_sched = DDPMScheduler(**tinymodel.SD_BETAS, prediction_type="epsilon", clip_sample=False)
        self.state = TrainState()
        self.held_out = world.held_out_pairs(cfg.held_out_fraction)
        self._load()

    # ----------------------------------------------------------------- checkpoints
    @property
    def ckpt(self) -> Path:
        return self.work / "checkpoint.pt"

    def _load(self) -> None:
        import torch

        if not self.ckpt.exists():
            return
        ck = torch.load(self.ckpt, map_location="cpu", weights_only=False)
        self.state = TrainState(**ck["state"])
        self.vae.load_state_dict(ck["vae"])
        self.unet.load_state_dict(ck["unet"])
        self.text_encoder.load_state_dict(ck["text_encoder"])
        self._resume = ck
        self.log(f"resumed: phase={self.state.phase} vae_step={self.state.vae_step} unet_step={self.state.unet_step}")

    def _save(self, **extra) -> None:
        ck = dict(
            state=asdict(self.state),
            vae=self.vae.state_dict(),
            unet=self.unet.state_dict(),
            text_encoder=self.text_encoder.state_dict(),
            **extra,
        )
        _atomic_save(ck, self.ckpt)

    # ----------------------------------------------------------------- phase 1: autoencoder
    def train_vae(self, progress: Progress = no_progress, cancel: CancelToken | None = None) -> None:
        import torch

        cfg = self.cfg
        opt = torch.optim.AdamW(self.vae.parameters(), lr=cfg.vae_lr, weight_decay=0.0)
        prev = getattr(self, "_resume", {}).get("vae_opt")
        if prev is not None:
            opt.load_state_dict(prev)
        rng = np.random.default_rng([cfg.seed, 1, self.state.vae_step])
        self.vae.train()
        t0 = time.time()
        while self.state.vae_step < cfg.vae_steps:
            check_cancel(cancel)
            scenes = world.sample_batch(rng, cfg.vae_batch, p_objects=cfg.p_objects)
            x = images_to_tensor([s.image for s in scenes])
            post = self.vae.encode(x).latent_dist
            z = post.sample()
            rec = self.vae.decode(z).sample
            loss_rec = (rec - x).abs().mean() + ((rec - x) ** 2).mean()
            rec_value = float(loss_rec.detach())
            loss_kl = post.kl().mean() / z[0].numel()
            loss = loss_rec + cfg.kl_weight * loss_kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.state.vae_step += 1
            self.state.vae_losses.append(rec_value)
            progress(self.state.vae_step, cfg.vae_steps, f"autoencoder loss {rec_value:.4f}")
            if self.state.vae_step % cfg.checkpoint_every == 0 or self.state.vae_step == cfg.vae_steps:
                self.state.seconds["vae"] += time.time() - t0
                t0 = time.time()
                self._save(vae_opt=opt.state_dict())
                self.log(f"vae step {self.state.vae_step}/{cfg.vae_steps} loss {np.mean(self.state.vae_losses[-50:]):.4f}")
        self.vae.eval()
        if self.state.phase == "vae":
            self.state.phase = "pool"
            self._save()

    # ----------------------------------------------------------------- phase 2: latent pool
    @property
    def pool_path(self) -> Path:
        return self.work / "latent_pool.npz"

    def build_pool(self, progress: Progress = no_progress, cancel: CancelToken | None = None) -> None:
        import torch

        cfg = self.cfg
        if self.pool_path.exists():
            return
        t0 = time.time()
        rng = np.random.default_rng([cfg.seed, 2])
        lat, caps = [], []
        chunk = 256
        self.vae.eval()
        with torch.no_grad():
            for start in range(0, cfg.pool_size, chunk):
                check_cancel(cancel)
                n = min(chunk, cfg.pool_size - start)
                scenes = world.sample_batch(rng, n, exclude=self.held_out, p_objects=cfg.p_objects, p_partial=cfg.p_partial)
                z = self.vae.encode(images_to_tensor([s.image for s in scenes])).latent_dist.mode()
                lat.append(z.numpy().astype(np.float16))
                caps.extend(s.caption for s in scenes)
                progress(start + n, cfg.pool_size, "encoding the latent pool")
        lat = np.concatenate(lat)
        scale = float(1.0 / lat.astype(np.float32).std())
        tmp = self.work / "latent_pool.tmp.npz"
        np.savez(tmp, latents=lat, captions=np.array(caps), scaling_factor=scale)
        os.replace(tmp, self.pool_path)
        self.state.seconds["pool"] += time.time() - t0
        self.state.phase = "unet"
        self._save()
        self.log(f"latent pool: {lat.shape}, scaling_factor={scale:.4f}")

    # ----------------------------------------------------------------- phase 3: denoiser
    def train_unet(self, progress: Progress = no_progress, cancel: CancelToken | None = None, time_limit: float | None = None) -> None:
        import torch

        cfg = self.cfg
        pool = np.load(self.pool_path)
        latents = torch.from_numpy(pool["latents"].astype(np.float32))
        scale = float(pool["scaling_factor"])
        self.vae.register_to_config(scaling_factor=scale)
        captions = list(pool["captions"])
        uniq = sorted(set(captions) | {""})
        index = {c: i for i, c in enumerate(uniq)}
        ids_all = self.tokenizer(uniq, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        cap_idx = torch.tensor([index[c] for c in captions])
        empty_idx = index[""]

        params = list(self.unet.parameters()) + list(self.text_encoder.parameters())
        opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.99), weight_decay=0.01)
        ema_unet = copy.deepcopy(self.unet).requires_grad_(False)
        ema_text = copy.deepcopy(self.text_encoder).requires_grad_(False)
        res = getattr(self, "_resume", {})
        if "unet_opt" in res:
            opt.load_state_dict(res["unet_opt"])
            ema_unet.load_state_dict(res["ema_unet"])
            ema_text.load_state_dict(res["ema_text"])
        alphas = self.train_sched.alphas_cumprod
        snr = alphas / (1 - alphas)
        weights = torch.clamp(snr, max=cfg.min_snr_gamma) / snr
        gen = torch.Generator().manual_seed(cfg.seed * 1000 + self.state.unet_step)
        self.unet.train()
        self.text_encoder.train()
        t_start = t0 = time.time()
        while self.state.unet_step < cfg.unet_steps:
            check_cancel(cancel)
            if time_limit is not None and time.time() - t_start > time_limit:
                break
            step = self.state.unet_step
            for g in opt.param_groups:
                g["lr"] = _lr_at(step, cfg)
            idx = torch.randint(0, len(latents), (cfg.batch,), generator=gen)
            x0 = latents[idx] * scale
            ci = cap_idx[idx].clone()
            drop = torch.rand(cfg.batch, generator=gen) < cfg.caption_dropout
            ci[drop] = empty_idx
            cond = self.text_encoder(ids_all[ci])[0]
            noise = torch.randn(x0.shape, generator=gen)
            t = torch.randint(0, self.train_sched.config.num_train_timesteps, (cfg.batch,), generator=gen)
            xt = self.train_sched.add_noise(x0, noise, t)
            pred = self.unet(xt, t, encoder_hidden_states=cond).sample
            per = ((pred - noise) ** 2).mean(dim=(1, 2, 3))
            loss = (per * weights[t]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            decay = min(cfg.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for m, e in ((self.unet, ema_unet), (self.text_encoder, ema_text)):
                    for p, q in zip(m.parameters(), e.parameters()):
                        q.mul_(decay).add_(p.detach(), alpha=1 - decay)
            self.state.unet_step += 1
            value = float(per.detach().mean())
            self.state.unet_losses.append(value)
            progress(self.state.unet_step, cfg.unet_steps, f"denoiser loss {value:.4f}")
            if self.state.unet_step % cfg.checkpoint_every == 0 or self.state.unet_step == cfg.unet_steps:
                self.state.seconds["unet"] += time.time() - t0
                t0 = time.time()
                self._save(unet_opt=opt.state_dict(), ema_unet=ema_unet.state_dict(), ema_text=ema_text.state_dict())
                self.log(
                    f"unet step {self.state.unet_step}/{cfg.unet_steps} loss {np.mean(self.state.unet_losses[-100:]):.4f} "
                    f"lr {_lr_at(step, cfg):.2e} {self.state.seconds['unet']:.0f}s"
                )
        self.state.seconds["unet"] += time.time() - t0
        self._save(unet_opt=opt.state_dict(), ema_unet=ema_unet.state_dict(), ema_text=ema_text.state_dict())
        self._ema = (ema_unet, ema_text)
        self._resume = {"unet_opt": opt.state_dict(), "ema_unet": ema_unet.state_dict(), "ema_text": ema_text.state_dict()}

    # ----------------------------------------------------------------- export
    def pipeline(self, ema: bool = True):
        """The current model as a ``StableDiffusionPipeline`` (EMA weights by default)."""
        import torch

        unet, text = self.unet, self.text_encoder
        res = getattr(self, "_resume", {})
        if ema and "ema_unet" in res:
            unet = copy.deepcopy(self.unet)
            unet.load_state_dict(res["ema_unet"])
            text = copy.deepcopy(self.text_encoder)
            text.load_state_dict(res["ema_text"])
        if self.pool_path.exists():
            self.vae.register_to_config(scaling_factor=float(np.load(self.pool_path)["scaling_factor"]))
        for m in (unet, text, self.vae):
            m.eval()
        torch.set_grad_enabled(True)
        return tinymodel.assemble_pipeline(self.tokenizer, text, self.vae, unet, self.scheduler)

    def export(self, out: Path) -> Path:
        """Write the EMA model as a diffusers folder plus ``training.json`` (config, steps, losses)."""
        out = Path(out)
        pipe = self.pipeline(ema=True)
        pipe.save_pretrained(out, safe_serialization=True)
        meta = dict(
            config=asdict(self.cfg),
            vae_steps=self.state.vae_step,
            unet_steps=self.state.unet_step,
            seconds=self.state.seconds,
            vae_loss_curve=_decimate(self.state.vae_losses),
            unet_loss_curve=_decimate(self.state.unet_losses),
            held_out_captions=sorted(self.held_out),
            vocabulary=sorted(world.VOCABULARY),
        )
        (out / "training.json").write_text(json.dumps(meta, indent=1))
        return out

    def run(self, progress: Progress = no_progress, cancel: CancelToken | None = None, time_limit: float | None = None) -> None:
        """All phases from wherever the work folder stands."""
        if self.state.phase == "vae":
            self.train_vae(progress, cancel)
        if self.state.phase == "pool" or not self.pool_path.exists():
            self.build_pool(progress, cancel)
        self.train_unet(progress, cancel, time_limit=time_limit)


def _decimate(xs: list, n: int = 400) -> list:
    """A loss curve averaged into at most ``n`` points as ``[step, loss]`` pairs."""
    if not xs:
        return []
    xs = np.asarray(xs, dtype=np.float64)
    k = max(1, int(math.ceil(len(xs) / n)))
    m = len(xs) // k * k
    out = [[int((i + 1) * k), float(v)] for i, v in enumerate(xs[:m].reshape(-1, k).mean(axis=1))]
    if m < len(xs):
        out.append([len(xs), float(xs[m:].mean())])
    return out
