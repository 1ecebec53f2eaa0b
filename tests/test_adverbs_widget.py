"""Headless tests of AdverbExplorer with the real tagger and embeddings (small inputs)."""

import pytest

from deletionlab.adverbs.data import Dataset
from deletionlab.adverbs.experiment import CONDITIONS
from deletionlab.adverbs.report import load_results
from deletionlab.widgets import AdverbExplorer, AdverbResultsView


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
    ex = w.exploration
    assert {t.text for t in ex.tokens if t.status == "deleted"} >= {"quickly", "honestly"}
    assert "dl-tok-deleted" in w.tagged.value and "dl-tok-kept" in w.tagged.value
    assert "She finished and never looked." in w.methods.value  # "back" is tagged ADV too
    w.guard_boxes["negation"].value = False
    assert "never" in {t.text for t in w.exploration.tokens if t.status == "deleted"}
    assert "label-flip risk" in w.methods.value


def test_bad_input_is_a_sentence(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader)
    good = w.exploration
    for text, msg in [("", "empty"), ("   \n\t", "empty"), ("x" * 25_000, "25,000 characters")]:
        w.text.value = text
        assert w.job.state == "error" and msg in w.job.error_line.value
        assert w.tagged.value == "" and w.methods.value == ""  # views that no longer match are cleared
    assert w.exploration is good  # nothing lost
    w.text.value = "The cat sat on the mat."
    assert w.job.state == "finished" and "No adverbs" in w.notice.value and w.job.error_line.value == ""
    w.text.value = "🚗🚗🚗 東京 Très vite! It really works 🙂"
    assert w.job.state == "finished" and w.exploration.methods[0].changed


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
    assert w.experiment is not None and len(w.experiment.rows) == 4 * 2 * len(CONDITIONS)
    assert "gain vs none" in w.exp_table.value and len(w.exp_plot.value) > 1000


def test_bad_experiment_settings_are_a_sentence_and_start_nothing(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader, autorun=False)
    w.exp_train.value = 100
    w.exp_test.value = 50
    w.exp_seeds.max = 100
    w.exp_seeds.value = 60  # beyond the science's range
    w.exp_button.click()
    assert w.exp_job.state == "error" and "Seeds must be a whole number from 2 to 50" in w.exp_job.error_line.value
    assert w.experiment is None


def test_results_view_shows_the_committed_claims():
    results = load_results()
    assert results is not None, "run scripts/adverbs_experiment.py"
    view = AdverbResultsView(results)
    assert set(view.rows) == {"tweets", "bbc"} and all(len(rows) >= 4 for rows in view.rows.values())
    html = "".join(c.value for c in view.children if hasattr(c, "value") and isinstance(c.value, str))
    assert "Source: python scripts/adverbs_experiment.py" in html
    assert "adverb deletion keeps meaning better than EDA and AEDA" in html and "<table" in html
    assert "not reproduced" in html or "agrees" in html
