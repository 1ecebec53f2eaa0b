"""Headless tests of NegativePromptExplorer with a tiny random pipeline."""

import warnings

import numpy as np
import pytest

from deletionlab.negprompt.models import Checkpoint
from deletionlab.negprompt.report import load_results
from deletionlab.widgets import NegativePromptExplorer, NegativePromptResultsView


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models run fastest on one thread; two threads on a busy 2-core machine run ~30x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make(tiny_pipe, **kw):
    kw.setdefault("prompt", "a red circle above a blue square")
    return NegativePromptExplorer(pipe=tiny_pipe, sync=True, steps=8, guidance=5.0, **kw)


def test_moving_the_start_step_changes_the_image_from_the_cached_trunk(tiny_pipe):
    w = make(tiny_pipe)
    assert w.job.state == "finished" and w.result is not None
    assert {"dl-root", "dl-negprompt"} <= set(w._dom_classes)
    first = w.result
    img0 = first.result.copy()
    w.start.value = 5
    assert w.job.state == "finished"
    assert w.result.run.unet_calls == 8 - 5  # only the suffix was computed
    assert not np.array_equal(w.result.result, img0)
    np.testing.assert_array_equal(w.result.reference, first.reference)  # the run without negative is unchanged
    assert len(w.strip_neg.images) == 8 and w.strip_neg.images[0].shape == (32, 32, 3)  # previews drawn
    assert w.strip_neg.labels[5] == "5•" and w.strip_neg.labels[4] == "4"  # • marks the steps the negative acts
    assert "negative in steps [5, 8)" in w.images.value
    assert w.result.difference.shape == (32, 32, 3) and f"difference (mean {w.result.mean_difference:.3f})" in w.images.value


def test_word_picker_attention_and_cancellation_views(tiny_pipe):
    w = make(tiny_pipe)
    labels = list(w.word.options)
    assert "square (pos+neg)" in labels and "circle (pos)" in labels
    w.word.value = "square (pos+neg)"
    grid = w.attention_grid
    assert len(grid.maps) == 2 and len(grid.maps[0]) == 8  # in prompt, in negative x steps
    assert all(abs(m.sum() - 1) < 1e-4 for row in grid.maps for m in row)  # each map is a distribution
    assert "square in prompt" in grid.value and "square in negative" in grid.value
    assert len(w.cancel_grid.maps) == 3 and w.cancel_grid.vmax > 0 and "opposite" in w.cancel_note.value
    assert "[a blue square" in w.export_box.value or "a blue square" in w.export_box.value


def test_negative_toggle_and_sweep(tiny_pipe):
    w = make(tiny_pipe)
    w.negative_on.value = False
    assert w.job.state == "finished" and not w.result.has_negative
    assert "Switch a negative prompt on" in w.export_box.value
    w.sweep_button.click()
    assert w.job.state == "error" and "negative prompt" in w.job.error_line.value
    w.negative_on.value = True
    w.sweep_button.click()
    assert w.job.state == "finished" and w.sweep is not None and len(w.sweep.images) == len(w.sweep.starts) == 8
    assert len(w.sweep_fig.value) > 1000 and w.sweep_fig.series is not None


def test_bad_input_gets_a_sentence_and_breaks_nothing(tiny_pipe):
    w = make(tiny_pipe)
    good = w.result
    w.prompt.value = ""
    assert w.job.state == "error" and "prompt is empty" in w.job.error_line.value and w.result is good
    w.prompt.value = "a red circle above a blue square"
    w.steps.value = 0
    assert "between 1 and" in w.job.error_line.value
    w.steps.value = 10_000
    assert "between 1 and" in w.job.error_line.value and w.result is not None
    w.steps.value = 8
    assert w.job.state == "finished"
    w.start.value, w.end.value = 6, 2
    assert "after the end step" in w.job.error_line.value
    w.end.value = 8
    w.negative.value = "a red circle above a blue square"
    assert w.job.state == "finished" and "equals the prompt" in w.notice.value
    w.prompt.value = "a purple dog 🐕 sitting"
    assert w.job.state == "finished" and "never saw" in w.notice.value and "purple" in w.notice.value


def test_model_chooser_lists_only_known_checkpoints(tiny_pipe, tiny_model_dir, tmp_path):
    bad = tmp_path / "not-a-model"
    bad.mkdir()
    w = NegativePromptExplorer(pipe=tiny_pipe, sync=True, steps=6,
                               checkpoints=[Checkpoint("tiny", tiny_model_dir), Checkpoint("broken", bad)])
    assert w.job.state == "finished"
    w.model.value = str(bad)
    assert w.job.state == "error" and "no model_index.json" in w.job.error_line.value
    w.model.value = str(tiny_model_dir)
    assert w.job.state == "finished"


def test_shipped_model_default_demo_removes_the_square_and_late_start_keeps_it():
    """The notebook's default: the model draws a blue square; the negative prompt removes it from
    step 0, and starting it near the end leaves it (measured with the detector)."""
    from deletionlab.negprompt import detect

    w = NegativePromptExplorer(sync=True)  # the shipped model and the notebook's defaults
    assert w.job.state == "finished", w.job.error
    ex = w.result
    assert detect.present(ex.reference, "blue", "square") and detect.present(ex.reference, "red", "circle")
    assert not detect.present(ex.result, "blue", "square")
    w.start.value = 27
    assert detect.present(w.result.result, "blue", "square")
    assert w.result.run.unet_calls == 3  # only the suffix after the new start


def test_results_view_shows_the_committed_table_and_plots():
    results = load_results()
    with warnings.catch_warnings(record=True) as caught:  # a warning would be printed on the dashboard
        warnings.simplefilter("always")
        view = NegativePromptResultsView(results, title="committed")
    assert [str(w.message) for w in caught] == []
    head = view.children[0].value
    assert len(view.rows) >= 8 and head.count("<tr>") == len(view.rows) + 1  # header + one row per claim
    assert "Source: python scripts/negprompt_experiment" in head and f"{results['summary']['scenes']} scenes" in head
    plots = [p for box in view.children[2:] for p in box.children]
    assert len(plots) == 4 and all(len(p.value) > 1000 for p in plots)  # four PNGs drawn
    extra = view.children[1].value  # the new summary keys as tables: definitions, removal by start
    assert "under each definition" in extra and "largest rise" in extra and "by start step" in extra
    assert extra.count("<tr>") >= 6 + 1 + 10 + 1


def test_huge_seed_and_steps_get_a_short_sentence(tiny_pipe):
    """Issue 18, item 1: a 20-digit seed typed in the browser gave "Something went wrong (ValueError:
    Overflow …)"; a steps value of 1e308 gave a 362-character message with a 309-digit number."""
    w = make(tiny_pipe)
    good = w.result
    w.seed.value = 10**20
    msg = w.job.error_line.value
    assert w.job.state == "error" and "seed must be a whole number between 0 and" in msg and "Something went wrong" not in msg
    assert "a 21-digit number" in msg and w.result is good
    w.seed.value = 3
    assert w.job.state == "finished"
    w.steps.value = int(1e308)
    msg = w.job.error_line.value
    assert "steps must be a whole number between 1 and 150" in msg and "a 309-digit number" in msg and len(msg) < 300
    w.steps.value = 8
    assert w.job.state == "finished"
