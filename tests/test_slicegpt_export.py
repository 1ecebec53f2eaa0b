"""An exported sliced model reloads with plain transformers and computes the same logits."""

import json
import subprocess
import sys

import pytest
import torch

from deletionlab.core import UserError
from deletionlab.slicegpt.export import MODULE_FILE, export, load_exported
from deletionlab.slicegpt.slicing import slice_model
from deletionlab.slicegpt.tiny import TINY, tiny_model

IDS = torch.randint(3, TINY["vocab"], (2, 16), generator=torch.Generator().manual_seed(5))


def sliced(layout, fractions=(0.25, 0.5)):
    g = torch.Generator().manual_seed(0)
    batches = [torch.randint(3, TINY["vocab"], (4, 32), generator=g) for _ in range(2)]
    return slice_model(tiny_model(layout), batches, list(fractions))[0]


@pytest.mark.parametrize("layout", ["llama", "opt"])
def test_export_reloads_and_matches_logits(tmp_path, layout):
    model = sliced(layout)
    folder = export(model, None, tmp_path / f"sliced-{layout}")
    cfg = json.loads((folder / "config.json").read_text())
    assert cfg["auto_map"]["AutoModelForCausalLM"] == "modeling_sliced.SlicedForCausalLM"
    assert cfg["slicing"]["dims"] == [[24, 24, 24], [24, 16, 32]] and cfg["tie_word_embeddings"] is False
    assert "deletionlab" not in (folder / MODULE_FILE).read_text().replace("Deletion Lab", "")
    again = load_exported(folder)
    with torch.no_grad():
        assert (again(input_ids=IDS).logits - model(input_ids=IDS).logits).abs().max() < 1e-4
    assert sum(p.numel() for p in again.parameters()) == sum(p.numel() for p in model.parameters())


def test_plain_transformers_reloads_it_without_importing_deletionlab(tmp_path):
    model = sliced("gpt2")
    folder = export(model, None, tmp_path / "sliced-gpt2")
    with torch.no_grad():
        want = model(input_ids=IDS).logits
    torch.save({"ids": IDS, "logits": want}, tmp_path / "want.pt")
    code = (
        "import sys, torch\n"
        "from transformers import AutoModelForCausalLM\n"
        f"m = AutoModelForCausalLM.from_pretrained({str(folder)!r}, trust_remote_code=True).eval()\n"
        f"w = torch.load({str(tmp_path / 'want.pt')!r})\n"
        "with torch.no_grad():\n"
        "    err = (m(input_ids=w['ids']).logits - w['logits']).abs().max().item()\n"
        "print('ERR', err, 'deletionlab' in sys.modules, type(m).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    line = next(x for x in out.stdout.splitlines() if x.startswith("ERR"))
    _, err, imported, name = line.split()
    assert float(err) < 1e-4 and imported == "False" and name == "SlicedForCausalLM", out.stderr[-2000:]


def test_a_model_that_was_not_sliced_cannot_be_exported(tmp_path):
    with pytest.raises(UserError, match="not been sliced"):
        export(tiny_model("llama"), None, tmp_path / "x")
