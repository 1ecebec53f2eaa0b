"""Headless tests of AdverbExplorer with the real tagger and embeddings (small inputs)."""

import pytest

from deletionlab.adverbs.data import Dataset
from deletionlab.widgets import AdverbExplorer


@pytest.fixture(scope="module")
def small_loader():
    texts = [f"I {a} like the car number {i}." for i, a in zip(range(80), ["really", "truly"] * 40)] + \
            [f"The traffic is {a} bad on road {i}." for i, a in zip(range(80), ["very", "quite"] * 40)]
    data = Dataset("small", texts, ["pos"] * 80 + ["neg"] * 80, "a small test set")
    return lambda name: data


def test_typing_text_highlights_and_augments(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader)
    assert {"dl-root", "dl-adverbs"} <= set(w._dom_classes) and w.job.state == "finished"
    w.text.value = "She quickly finished and honestly never looked back."
    ins = w.inspection
    assert {t.text for t in ins.tokens if t.status == "deleted"} >= {"quickly", "honestly"}
    assert "dl-tok-deleted" in w.tagged.value and "dl-tok-kept" in w.tagged.value
    assert "She finished and never looked." in w.methods.value  # "back" is tagged ADV too
    w.guard_boxes["negation"].value = False
    assert "never" in {t.text for t in w.inspection.tokens if t.status == "deleted"}
    assert "label-flip risk" in w.methods.value


def test_bad_input_is_a_sentence(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader)
    good = w.inspection
    for text, msg in [("", "empty"), ("   \n\t", "empty"), ("x" * 25_000, "25,000 characters")]:
        w.text.value = text
        assert w.job.state == "error" and msg in w.job.error_line.value
    assert w.inspection is good  # nothing lost
    w.text.value = "The cat sat on the mat."
    assert w.job.state == "finished" and "No adverbs" in w.notice.value
    w.text.value = "🚗🚗🚗 東京 Très vite! It really works 🙂"
    assert w.job.state == "finished" and w.inspection.methods[0].changed


def test_random_example_coverage_and_experiment(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader)
    w.random_button.click()
    assert w.text.value.startswith(("I ", "The "))
    w.coverage_n.value = 100
    w.coverage_button.click()
    assert w.data_job.state == "finished" and w.dataset_coverage.share_with_adverb > 0.9
    assert "most deleted" in w.coverage_view.value
    w.exp_train.value, w.exp_test.value, w.exp_seeds.value = 100, 50, 2
    w.exp_button.click()
    assert w.exp_job.state == "finished", w.exp_job.error
    assert w.experiment is not None and len(w.experiment.rows) == 4 * 2 * 5
    assert "gain vs none" in w.exp_table.value and len(w.exp_plot.value) > 1000
