"""Loading checkpoints from disk only: validation, listing, the shipped model, training steps."""

import json
import shutil
import time

import pytest

from deletionlab.core import UserError
from deletionlab.negprompt import models
from deletionlab.negprompt.training import TrainConfig, Trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (conftest)


def test_folders_that_are_not_sd_checkpoints(tmp_path):
    with pytest.raises(UserError, match="no folder"):
        models.check_checkpoint(tmp_path / "nothing")
    with pytest.raises(UserError, match="no model_index.json"):
        models.check_checkpoint(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(UserError, match="not a Stable Diffusion"):
        models.check_checkpoint(tmp_path)
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(UserError, match="lacks"):
        models.check_checkpoint(tmp_path)
    (tmp_path / "model_index.json").write_text("{broken")
    with pytest.raises(UserError, match="unreadable"):
        models.check_checkpoint(tmp_path)
    with pytest.raises(UserError):
        models.load_pipeline(tmp_path)


def test_listing_finds_local_and_hf_cache_checkpoints(tiny_model_dir, tmp_path, monkeypatch):
    local = tmp_path / "models"
    shutil.copytree(tiny_model_dir, local / "my-sd")
    (local / "junk").mkdir()
    hub = tmp_path / "hub"
    snap = hub / "models--someone--tiny-sd" / "snapshots" / "abc123"
    shutil.copytree(tiny_model_dir, snap)
    monkeypatch.setenv("DELETIONLAB_MODELS", str(local))
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    found = models.list_checkpoints()
    labels = [c.label for c in found]
    assert labels[0].startswith("tiny shapes model")
    assert "my-sd (local)" in labels and "someone/tiny-sd (HF cache)" in labels
    assert not any("junk" in lab for lab in labels)
    pipe = models.load_pipeline(snap)  # StableDiffusionPipeline.from_pretrained, offline
    assert type(pipe).__name__ == "StableDiffusionPipeline"
    assert models.load_pipeline(snap) is pipe  # cached


def test_shipped_model_loads_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from diffusers import StableDiffusionPipeline

    t0 = time.perf_counter()
    pipe = StableDiffusionPipeline.from_pretrained(models.shipped_path(), local_files_only=True)
    elapsed = time.perf_counter() - t0
    assert pipe.unet.config.sample_size == 16 and pipe.vae_scale_factor == 2
    assert type(pipe.tokenizer).__name__.startswith("CLIPTokenizer") and len(pipe.tokenizer) == 49408
    size = sum(f.stat().st_size for f in models.shipped_path().rglob("*") if f.is_file())
    assert size <= 30 * 2**20
    print(f"shipped model: {size / 2**20:.1f} MB, loaded in {elapsed:.2f} s")


def test_unseen_words(tiny_pipe):
    assert models.unseen_words(tiny_pipe, "a purple circle, a Dog!") == ["purple", "dog", "!"]
    assert models.unseen_words(tiny_pipe, "a red circle left of a blue shape") == []


def test_training_runs_a_few_steps_and_resumes(tmp_path):
    tok = models.shipped_path() / "tokenizer"
    cfg = TrainConfig.tiny()
    t = Trainer(tmp_path, cfg, tokenizer_from=tok)
    t.run()
    assert t.state.vae_step == cfg.vae_steps and t.state.unet_step == cfg.unet_steps
    assert all(v == v for v in t.state.unet_losses)  # finite
    cfg2 = TrainConfig.tiny()
    cfg2.unet_steps = cfg.unet_steps + 2
    t2 = Trainer(tmp_path, cfg2, tokenizer_from=tok)  # resumes from the checkpoint
    assert t2.state.unet_step == cfg.unet_steps
    t2.run()
    assert t2.state.unet_step == cfg.unet_steps + 2 and len(t2.state.unet_losses) == cfg.unet_steps + 2
    out = t2.export(tmp_path / "model")
    info = json.loads((out / "training.json").read_text())
    assert info["unet_steps"] == cfg.unet_steps + 2 and "shape" in info["vocabulary"]
    assert models.load_pipeline(out).vae.config.scaling_factor > 0


def test_quality_generation_stops_at_a_cancel(tiny_pipe):
    """The model card's measurement checks the cancel token after every denoising step."""
    from deletionlab.core import CancelToken
    from deletionlab.core.jobs import Cancelled
    from deletionlab.negprompt import quality

    imgs = quality.generate(tiny_pipe, ["a red circle", "a blue square"], [1, 2], steps=2, guidance=3.0)
    assert imgs.shape == (2, 32, 32, 3) and imgs.dtype.name == "uint8"
    tok = CancelToken()
    tok.cancel()
    with pytest.raises(Cancelled):
        quality.generate(tiny_pipe, ["a red circle"], [1], steps=2, guidance=3.0, cancel=tok)
