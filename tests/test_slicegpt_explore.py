"""The explorer's settings are checked with one sentence naming the field and its range."""

import math

import pytest

from deletionlab.core import UserError
from deletionlab.slicegpt.explore import Settings, fractions, generate_pair, preview, validate
from deletionlab.widgets.slicegpt import parse_per_layer


@pytest.mark.parametrize("kw,dims,message", [
    (dict(slicing=0.0), {}, "Slicing must be more than 0 % and less than 100 % (got 0 %)"),
    (dict(slicing=100.0), {}, "less than 100 % (got 100 %)"),
    (dict(slicing=math.nan), {}, "Slicing must be more than 0 %"),
    (dict(per_layer=(0.0, 0.0)), {}, "slices nothing"),
    (dict(per_layer=(10.0, -5.0)), {}, "from 0 % to below 100 % (got -5 %)"),
    (dict(per_layer=(10.0, 20.0)), dict(n_blocks=30, hidden=576), "one value per block: 30 values (got 2)"),
    (dict(slicing=99.0), dict(n_blocks=30, hidden=576), "leaves fewer than 8 of the 576 dimensions; slice at most 98.6 %"),
    (dict(n_calibration=4, seq_len=64), dict(n_blocks=30, hidden=576), "at least as many tokens as the model is wide (576): 4 × 64 = 256"),
    (dict(calibration="custom"), {}, "custom calibration text is empty"),
    (dict(calibration="wiki"), {}, "Calibration text must be BBC News, Python docstrings"),
    (dict(orientation="svd"), {}, "Orientation must be 'pca' or 'random' (got 'svd')"),
    (dict(n_calibration=0), {}, "1 to 1024 sequences of 16 to 2048 tokens (got 0 × 128)"),
    (dict(slicing=70.0, ramp=True), {}, "keep the slicing below 66.7 % (got 70 %)"),
])
def test_validate_names_the_field_and_its_range(kw, dims, message):
    with pytest.raises(UserError) as err:
        validate(Settings(**kw), **dims)
    assert message in str(err.value)


def test_good_settings_pass_and_give_per_block_fractions():
    s = validate(Settings(slicing=25.0), n_blocks=30, hidden=576)
    assert fractions(s, 3) == [0.25, 0.25, 0.25]
    assert fractions(Settings(per_layer=(10.0, 0.0, 30.0)), 3) == [0.1, 0.0, 0.3]
    assert fractions(Settings(slicing=20.0, ramp=True), 3) == pytest.approx([0.1, 0.2, 0.3])
    assert parse_per_layer("10, 20%; 30") == (10.0, 20.0, 30.0)
    with pytest.raises(UserError, match="empty"):
        parse_per_layer(" , ")


def test_preview_counts_the_energy_beyond_the_kept_width():
    flat = [0.5, 0.25] + [0.25 / 30] * 30
    run = {"hidden": 32, "n_blocks": 2, "slice": {"names": ["embeddings", "block 0 output", "block 1 output"],
                                                  "spectra": [flat, [1.0] + [0.0] * 31, flat]}}
    p = preview(run, 25.0)
    assert p["width"] == 24 and p["widths"] == [24, 24, 32] and p["discarded"][1] == 0.0
    assert p["discarded"][0] == pytest.approx(8 * 0.25 / 30)
    assert p["discarded"][2] == 0.0  # the last block writes all D dimensions (the head is not sliced)
    assert preview(run, 0.0)["discarded"] == [0.0, 0.0, 0.0]
    assert preview(run, 25.0, per_block=[0.5, 0.5])["widths"] == [16, 16, 32]


def test_generation_refuses_empty_and_long_prompts_and_a_missing_model():
    with pytest.raises(UserError, match="prompt is empty"):
        generate_pair(None, "  ")
    with pytest.raises(UserError, match="at most 500 characters"):
        generate_pair(None, "x" * 501)
    with pytest.raises(UserError, match="press Slice first"):
        generate_pair(None, "Hello")
