"""Offline text: held-out splits, calibration windows, probe items, model listing and refusals."""

import json

import pytest

from deletionlab.core import UserError
from deletionlab.slicegpt import data, models
from deletionlab.slicegpt.tiny import train_tokenizer


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(list(data.bbc_articles()[:40]), vocab=300)


def test_heldout_and_calibration_articles_are_disjoint_and_cover_the_corpus():
    held, cal = data.corpus("bbc", "heldout"), data.corpus("bbc", "calibration")
    arts = data.bbc_articles()
    assert len(arts) == len(set(arts)) and 2000 < len(arts) < 2225  # 2,225 files, some of them duplicates
    assert len(held) == -(-len(arts) // 10) and len(held) + len(cal) == len(arts)
    assert not set(held) & set(cal)
    dh = data.corpus("docstrings", "heldout")
    assert dh and not set(dh) & set(data.corpus("docstrings", "calibration"))


def test_calibration_windows_are_seeded_and_too_little_text_is_refused(tok):
    texts = data.corpus("bbc", "calibration")[:60]
    a = data.token_windows(tok, texts, 4, 32, seed=1)
    assert a.shape == (4, 32) and a.equal(data.token_windows(tok, texts, 4, 32, seed=1))
    assert not a.equal(data.token_windows(tok, texts, 4, 32, seed=2))
    with pytest.raises(UserError, match=r"only \d+ tokens, but 4 sequences × 64 tokens need 256"):
        data.token_windows(tok, ["a few words only"], 4, 64, what="custom calibration text")
    with pytest.raises(UserError, match="Unknown corpus 'nope'"):
        data.corpus("nope", "heldout")


def test_probe_items_pair_a_true_half_with_distractors_of_similar_length():
    items = data.probe_items(30, seed=0)
    assert len(items) == 30 and items == data.probe_items(30, seed=0)
    heldout = " ".join(data.corpus("bbc", "heldout")).replace("\n", " ")
    for it in items:
        assert len(it.choices) == 4 and 0 <= it.answer < 4
        assert f"{it.prefix} {it.choices[it.answer]}" in heldout  # the true continuation is the sentence's second half
        n = len(it.choices[it.answer].split())
        assert all(abs(len(c.split()) - n) <= 3 for c in it.choices)
    assert len({it.answer for it in items}) > 1  # answers are not always in the same slot


def test_models_folder_is_listed_and_sliced_exports_are_not(tmp_path, monkeypatch):
    from deletionlab.slicegpt.tiny import tiny_model

    tiny_model("opt").save_pretrained(tmp_path / "tiny-opt")
    tiny_model("llama").save_pretrained(tmp_path / "sliced")
    cfg = json.loads((tmp_path / "sliced" / "config.json").read_text())
    (tmp_path / "sliced" / "config.json").write_text(json.dumps({**cfg, "slicing": {"dims": []}}))
    (tmp_path / "notes").mkdir()
    monkeypatch.setenv("DELETIONLAB_MODELS", str(tmp_path))
    keys = [c.key for c in models.available_models()]
    assert "folder:tiny-opt" in keys and "folder:sliced" not in keys and "folder:notes" not in keys
    choice = models.choice_by_key("folder:tiny-opt")
    assert models.preflight(choice)["layout"] == "opt"
    with pytest.raises(UserError, match="Unknown model"):
        models.choice_by_key("folder:missing")


def test_a_model_too_big_is_refused_before_loading_with_the_estimate():
    with pytest.raises(UserError) as err:
        models.check_fits(7_000_000_000, "Llama-2-7B", available=16 * 2**30)
    msg = str(err.value)
    assert "7.00 billion parameters" in msg and "78.8 GB" in msg and "16.0 GB is available" in msg
    assert models.check_fits(1_000_000, "tiny", available=16 * 2**30) < 2**30


def test_an_unsupported_architecture_is_refused_naming_the_supported_ones(tmp_path):
    from transformers import BertConfig, BertLMHeadModel

    BertLMHeadModel(BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                               is_decoder=True)).save_pretrained(tmp_path / "bert")
    choice = models.ModelChoice("folder:bert", "bert (models folder)", "folder", str(tmp_path / "bert"))
    with pytest.raises(UserError, match="supported: pre-norm, attention then gated MLP") as err:
        models.preflight(choice)
    assert "OPT" in str(err.value) and "GPT-2" in str(err.value) and "Phi" in str(err.value)
