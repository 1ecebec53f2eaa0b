"""save_results writes a results file with its provenance; load_results reads it back."""

import json

import numpy as np

from deletionlab.core import JobStatus
from deletionlab.core.report import load_results, save_results


def test_save_results_adds_made_by_and_round_trips_numpy(tmp_path):
    path = tmp_path / "results.json"
    data = {"auc": np.float64(0.61), "curve": np.arange(3), "n": np.int64(8)}
    out = save_results("demo", data, script="scripts/demo_experiment.py", argv=["--seeds", "8"], path=path)
    assert out == path
    back = load_results("demo", path)
    assert back["auc"] == 0.61 and back["curve"] == [0, 1, 2] and back["n"] == 8
    made = back["made_by"]
    assert made["command"] == "python scripts/demo_experiment.py --seeds 8"
    assert len(made["date"]) == 16 and "commit" in made
    assert "made_by" not in data  # the caller's dict is not changed
    assert json.loads(path.read_text())["auc"] == 0.61


def test_load_results_of_a_missing_file_is_none(tmp_path):
    assert load_results("demo", tmp_path / "nothing.json") is None


def test_job_status_is_one_vocabulary():
    assert [s.value for s in JobStatus] == ["pending", "running", "finished", "error", "cancelled"]
    assert JobStatus.FINISHED == "finished" and str(JobStatus.ERROR) == "error"
