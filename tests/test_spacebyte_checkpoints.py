"""Saving and loading models (fp16 safetensors), completing byte by byte, and the shipped models if present."""

import numpy as np
import pytest
import torch

from deletionlab.core.jobs import UserError
from deletionlab.spacebyte.checkpoints import complete, context_window, load_model, save_model, shipped_models
from deletionlab.spacebyte.models import ModelConfig, build
from deletionlab.spacebyte.patching import BOS, global_mask


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def model():
    return build(ModelConfig("spacebyte", d_model=32, n_layers=1, d_key=16, t_global=6, context=48), seed=0).eval()


def test_save_and_load_round_trip_in_half_precision(model, tmp_path):
    save_model(model, tmp_path / "m", {"bpb": 1.23})
    back, record = load_model(tmp_path / "m")
    assert record == {"bpb": 1.23} and back.cfg == model.cfg
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a.half().float(), b), k
    assert (tmp_path / "m" / "model.safetensors").stat().st_size < 2.2 * sum(p.numel() for p in model.parameters())


def test_context_window_keeps_at_most_t_global_global_positions(model):
    data = np.frombuffer(b"one two three four five six seven eight nine", dtype=np.uint8)
    x = context_window(data, model)
    assert x[0] == BOS and bytes(x[1:].astype(np.uint8)).endswith(b"nine") and len(x) <= 48
    assert global_mask(x).sum() <= 6


def test_greedy_completion_is_deterministic_and_sampling_follows_the_seed(model):
    a = complete(model, "the cat ", 10, temperature=0)
    assert a == complete(model, "the cat ", 10, temperature=0) and len(a) == 10
    assert complete(model, "the cat ", 10, seed=1) == complete(model, "the cat ", 10, seed=1)
    assert BOS not in a


@pytest.mark.parametrize("kw,message", [({"n_bytes": 0}, "bytes to write"), ({"temperature": 3.0}, "temperature"),
                                        ({"prompt": ""}, "prompt is empty")])
def test_bad_completion_requests(model, kw, message):
    args = {"prompt": "hi", "n_bytes": 5, "temperature": 0.5, **kw}
    with pytest.raises(UserError, match=message):
        complete(model, args["prompt"], args["n_bytes"], args["temperature"])


def test_shipped_models_load_and_beat_a_uniform_guess():
    folders = shipped_models()
    assert "spacebyte" in folders, "run scripts/spacebyte_experiment.py --export"
    from deletionlab.spacebyte.training import evaluate

    for arch, folder in folders.items():
        m, record = load_model(folder)
        assert record["bpb"] < 4.0, arch
    m, record = load_model(folders["spacebyte"])
    assert evaluate(m, "prose", 4096)["bpb"] < 5.0  # the fp16 copy still models text
