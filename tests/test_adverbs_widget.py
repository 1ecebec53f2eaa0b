"""Headless tests of AdverbExplorer and AdverbResultsView: the real tagger and MiniLM on the text tab,
a small data set and instant stand-in embeddings for the data-set and experiment tabs."""

import csv
import io
import re

import numpy as np
import pytest

from deletionlab.adverbs.data import LABELS, TWEET_TOPICS, Dataset, load_shared
from deletionlab.adverbs.experiment import CONDITIONS
from deletionlab.adverbs.report import load_results
from deletionlab.adverbs.timing import Eta, Plan
from deletionlab.widgets import AdverbExplorer, AdverbResultsView
from deletionlab.widgets.adverbs import SHOWN_CONDITIONS


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """This module's own result cache and no machine-wide queue (other work must not hold it up)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.mktemp("advcache")))
        mp.setenv("DELETIONLAB_GATE", "0")
        yield


@pytest.fixture(scope="module")
def small_loader():
    texts = [f"I {a} like the car number {i}." for i, a in zip(range(80), ["really", "truly"] * 40)] + \
            [f"The traffic is {a} bad on road {i}." for i, a in zip(range(80), ["very", "quite"] * 40)]
    data = Dataset("small", texts, ["pos"] * 80 + ["neg"] * 80, "a small test set")
    return lambda name: data


def fake_embed(texts, progress=None, cancel=None):
    """Instant stand-in for MiniLM: a fixed random unit vector per text."""
    out = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=384) for t in texts]) if texts else np.zeros((0, 384))
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_typing_text_highlights_and_shows_several_samples(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader)
    assert {"dl-root", "dl-adverbs"} <= set(w._dom_classes) and w.job.state == "finished"
    w.text.value = "She quickly finished and honestly never looked back."
    ex = w.exploration
    assert {t.text for t in ex.tokens if t.status == "deleted"} >= {"quickly", "honestly"}
    assert "dl-tok-deleted" in w.tagged.value and "dl-tok-kept" in w.tagged.value
    assert "She finished and never looked." in w.methods.value  # "back" is tagged ADV too
    # several samples per method: the random augmenters differ between seeds, adverb deletion never does
    assert ex.seeds == [0, 1, 2] and [len(s) for s in ex.samples] == [3, 3, 3, 3]
    assert len({v.text for v in ex.samples[3]}) > 1  # AEDA's three outputs
    assert "every seed" in w.methods.value and "seed 2" in w.methods.value
    # EDA's operation is named and explained (hover text and the line under the table)
    assert re.search(r"class='dl-op' title='[^']+'>(sr|ri|rs|rd)<", w.methods.value)
    assert "synonym replacement" in w.methods.value and "random swap" in w.methods.value
    w.samples.value = 1
    assert [len(s) for s in w.exploration.samples] == [1, 1, 1, 1] and "seed 1" not in w.methods.value
    w.guard_boxes["negation"].value = False
    assert "never" in {t.text for t in w.exploration.tokens if t.status == "deleted"}
    assert "label-flip risk" in w.methods.value


def test_guard_labels_are_whole_and_sized_to_their_text(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader, autorun=False)
    for box in w.guard_boxes.values():
        assert box.layout.width == "auto" and box.description.endswith("…)")  # the full "(not, never, hardly…)"
    assert "negations (not, never, hardly" in w.guard_boxes["negation"].description


def test_bad_text_clears_the_views_and_the_done_status(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader)
    assert "done in" in w.job.status.value and w.exploration is not None
    for text, msg in [("", "empty"), ("   \n\t", "empty"), ("x" * 25_000, "25,000 characters")]:
        w.text.value = text
        assert w.job.state == "error" and msg in w.job.error_line.value
        assert "fix the input" in w.tagged.value and w.methods.value == "" and w.exploration is None
        assert "done" not in w.job.status.value  # no "done in 0.4 s" next to the error (issue 18 item 4)
    w.text.value = "The cat sat on the mat."
    assert w.job.state == "finished" and "No adverbs" in w.notice.value and w.job.error_line.value == ""
    w.text.value = "🚗🚗🚗 東京 Très vite! It really works 🙂"
    assert w.job.state == "finished" and w.exploration.methods[0].changed


def test_data_sets_are_named_for_what_they_hold():
    w = AdverbExplorer(sync=True, autorun=False)
    labels = dict(w.dataset.options)  # label -> key
    assert set(labels.values()) == {"tweets", "tweets-cars", "tweets-airlines", "bbc"}
    # only the set that holds nothing else is called "about self-driving cars"
    assert [k for k, v in LABELS.items() if "self-driving" in v] == ["tweets-cars"]
    assert "mixed" in LABELS["tweets"] and "airlines" in LABELS["tweets"]
    assert "airlines" in w.dataset_note.value and "all use this set" in w.dataset_note.value
    cars, rule = load_shared("tweets-cars"), re.compile(dict(TWEET_TOPICS)["self-driving cars"])
    assert 3000 < len(cars) < 8000 and all(rule.search(t.lower()) for t in cars.texts)
    assert cars.source == "tweets"  # shares the tweets' cached embeddings
    airlines = load_shared("tweets-airlines")
    assert 10_000 < len(airlines) < 20_000 and not set(airlines.texts) & set(cars.texts)
    w.dataset.value = "tweets-cars"
    assert "self-driving cars only" in w.dataset_note.value


def test_random_example_comes_from_the_chosen_set():
    sets = {"tweets": Dataset("tweets", ["@united my bag is really lost."], ["negative"]),
            "bbc": Dataset("bbc", ["Shares fell sharply on Monday."], ["business"])}
    w = AdverbExplorer(sync=True, loader=lambda name: sets[name], autorun=False)
    w.random_button.click()
    assert w.job.state == "finished" and w.text.value == "@united my bag is really lost."
    assert w.exploration.text == w.text.value and "really" in w.tagged.value
    w.dataset.value = "bbc"
    w.random_button.click()
    assert w.text.value == "Shares fell sharply on Monday." and w.exploration.text == w.text.value


def test_coverage_and_csv_export(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader, autorun=False)
    w.coverage_n.value = 100
    w.coverage_button.click()
    assert w.data_job.state == "finished" and w.dataset_coverage.share_with_adverb > 0.9
    assert "most deleted" in w.coverage_view.value
    w.csv_button.click()
    assert w.data_job.state == "finished", w.data_job.error
    rows = list(csv.DictReader(io.StringIO(w.csv_text)))
    assert len(rows) == 100 and list(rows[0]) == ["text", "label", "adverb", "adverb_guarded", "random", "eda", "eda_op", "aeda"]
    for r in rows:
        assert r["label"] in {"pos", "neg"}
        assert r["adverb"] and not re.search(r"\b(really|truly|very|quite)\b", r["adverb"])
        assert r["eda_op"] in {"sr", "ri", "rs", "rd", ""} and (r["eda_op"] == "") == (r["eda"] == "")
    assert "download adverbs-tweets-100.csv" in w.csv_view.value and "data:text/csv;base64," in w.csv_view.value
    w.dataset.value = "bbc"  # the views described the previous set
    assert w.coverage_view.value == "" and w.csv_view.value == "" and w.csv_text == ""


def test_experiment_draws_error_bars_a_readable_default_and_paired_details(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader, embed=fake_embed, autorun=False)
    w.exp_train.value, w.exp_test.value, w.exp_seeds.value = 100, 50, 2
    assert "150 texts to tag" in w.exp_estimate.value
    assert "No run yet" in w.exp_header.value and w.exp_views.layout.display == "none"  # no empty chart before a run
    w.exp_button.click()
    assert w.exp_views.layout.display != "none"
    assert w.exp_job.state == "finished", w.exp_job.error
    res = w.experiment
    assert len(res.rows) == 4 * 2 * len(CONDITIONS) and "gain vs none" in w.exp_table.value
    data = w.exp_plot.figure.data
    assert len(data) == len(CONDITIONS) and all(d.error_y.array is not None and len(d.error_y.array) == 4 for d in data)
    assert w.exp_plot.figure.layout.xaxis.type == "log" and w.exp_plot.figure.layout.legend.x > 1  # legend beside, not over
    visible = {d.name for d in data if d.visible is True}
    assert len(visible) == len(SHOWN_CONDITIONS) and "adverb deletion (paper)" in visible and "exact copies (same texts)" in visible
    assert all("±" in t and "training texts" in t for d in data for t in d.text)
    w.exp_plot.click("adverb deletion (paper)", 0)
    assert "at 1%" in w.exp_detail.value and "Paired by seed" in w.exp_detail.value
    w.exp_plot.figure.data[2].visible = True  # a student switched on a hidden condition: a redraw keeps it
    w._show_experiment(res, w._gen["exp"])
    assert w.exp_plot.figure.data[2].visible is True


def test_experiment_estimate_follows_the_settings(small_loader):
    w = AdverbExplorer(sync=True, loader=small_loader, autorun=False)
    first = w.exp_estimate.value
    assert "1,500 texts to tag" in first and "200 classifier fits" in first
    w.exp_train.value, w.exp_seeds.value = 3000, 10
    assert "3,500 texts to tag" in w.exp_estimate.value and "400 classifier fits" in w.exp_estimate.value


def test_eta_extrapolates_the_running_step_and_rescales_the_rest():
    clock, seen = [0.0], []
    eta = Eta(Plan((10.0, 100.0, 20.0), 1000, 3000, 80), lambda d, t, n="": seen.append((d, t, n)), clock=lambda: clock[0])
    eta(0, 3, "tagging 0/1,000")
    assert eta.remaining == pytest.approx(130.0)  # nothing measured yet: the plan
    clock[0] = 10.0
    eta(0.5, 3, "tagging 500/1,000")  # half of a 10 s step in 10 s: this machine is 2x slower than planned
    assert eta.remaining == pytest.approx(10.0 + 2 * (100 + 20))
    assert seen[-1] == (17, 100, "tagging 500/1,000 — about 4 min left")
    clock[0] = 20.0
    eta(2.5, 3, "fit 40/80")  # half of the fits done 0 s into the step: too early, the plan times the factor
    assert eta.remaining == pytest.approx(20 * 0.5 * 2)


def test_results_view_shows_the_committed_claims_with_interactive_charts():
    results = load_results()
    assert results is not None, "run scripts/adverbs_experiment.py"
    view = AdverbResultsView(results)
    assert set(view.rows) == {"tweets", "bbc"} and all(len(rows) >= 4 for rows in view.rows.values())
    html = "".join(c.value for c in view.children if hasattr(c, "value") and isinstance(c.value, str))
    assert "Source: python scripts/adverbs_experiment.py" in html
    assert "adverb deletion keeps meaning better than EDA and AEDA" in html and "<table" in html
    assert "not reproduced" in html or "agrees" in html
    assert "equal-copies" in plain(html)
    plot = view.plots["bbc"]
    data = {d.name: d for d in plot.figure.data}
    table = {(r["condition"], r["fraction"]): r for r in results["bbc"]["table"]}
    adv = data["adverb deletion (paper)"]
    assert list(adv.x) == [1, 5, 20, 100] and adv.y[0] == pytest.approx(table[("adverb", 0.01)]["accuracy"])
    assert adv.error_y.array[0] == pytest.approx(table[("adverb", 0.01)]["se"]) and adv.error_y.array[0] > 0
    assert data["EDA (same texts)"].visible == "legendonly" and adv.visible is True
    plot.click("adverb deletion (paper)", 0)
    detail = plain(view.details["bbc"].value)
    acc = {(r["condition"], r["seed"]): r["accuracy"] for r in results["bbc"]["rows"] if r["fraction"] == 0.01}
    gain = np.mean([acc[("adverb", s)] - acc[("none", s)] for s in range(results["bbc"]["config"]["seeds"])])
    assert f"vs no augmentation: {gain:+.3f} ± " in detail and "vs exact copies (same texts)" in detail


def test_the_default_run_is_computed_once_per_machine(monkeypatch):
    """A dashboard opening with the default text reads the run that an earlier kernel stored, computing nothing."""
    from deletionlab.adverbs import explore as science
    from deletionlab.widgets.adverbs import DEFAULT_SAMPLES

    s = science.validate(science.Settings(samples=DEFAULT_SAMPLES))
    first = science.shared_explore(s)  # computed here (or by an earlier test): now on disk
    calls = []
    monkeypatch.setattr(science, "explore", lambda *a, **k: calls.append(a))
    w = AdverbExplorer(sync=True)
    assert calls == [] and w.job.state == "finished", w.job.error
    assert [m.text for m in w.exploration.methods] == [m.text for m in first.methods]
    assert not w._heavy(("explore", s))  # a stored result skips the machine-wide queue
