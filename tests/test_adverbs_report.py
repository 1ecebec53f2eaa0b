"""The paper's claims next to ours, computed from a results dict (hand-made here) and the committed file."""

from deletionlab.adverbs.report import by_dataset, compare, compare_all, load_results


def _table(acc: dict) -> list[dict]:
    """Rows like ExperimentResult.table(): acc[(condition, fraction)] = (mean, std) over n=4 seeds."""
    base = {f: m for (c, f), (m, _) in acc.items() if c == "none"}
    return [dict(condition=c, fraction=f, n=4, accuracy=m, accuracy_std=s, gain=m - base[f]) for (c, f), (m, s) in acc.items()]


def _result(acc: dict, sims=None) -> dict:
    return {"config": {"fractions": [0.01, 1.0], "n_train": 1000}, "table": _table(acc), "similarity": sims or {}}


def test_a_clear_low_data_gain_that_shrinks_agrees():
    acc = {("none", 0.01): (0.50, 0.01), ("adverb", 0.01): (0.60, 0.01), ("eda", 0.01): (0.55, 0.01),
           ("none", 1.0): (0.90, 0.01), ("adverb", 1.0): (0.90, 0.01), ("eda", 1.0): (0.95, 0.01)}
    rows = {r.claim: r for r in compare(_result(acc, {"adverb": 0.98, "eda": 0.94}))}
    helps = rows["adverb deletion helps with little data (1% of 1000 texts)"]
    assert helps.verdict == "helps" and "+0.100" in helps.ours and "± 0.007" in helps.ours  # s.e. = sqrt(2 * 0.01² / 4)
    assert rows["gains shrink as data grows"].verdict == "agrees"
    assert rows["adverb deletion vs the other augmenters at 1%"].verdict == "agrees"
    assert rows["adverb deletion vs the other augmenters at 100%"].verdict == "disagrees"  # eda 0.05 ahead, s.e. 0.007
    assert rows["adverb deletion keeps meaning best (sentence-embedding cosine)"].verdict == "agrees"


def test_a_gap_within_two_standard_errors_is_a_tie_and_no_effect():
    acc = {("none", 0.01): (0.50, 0.04), ("adverb", 0.01): (0.51, 0.04), ("aeda", 0.01): (0.52, 0.04),
           ("none", 1.0): (0.90, 0.04), ("adverb", 1.0): (0.90, 0.04), ("aeda", 1.0): (0.91, 0.04)}
    rows = {r.claim: r for r in compare(_result(acc, {"adverb": 0.9, "aeda": 0.95}))}
    assert rows["adverb deletion helps with little data (1% of 1000 texts)"].verdict == "no clear effect"
    assert rows["gains shrink as data grows"].verdict.startswith("no clear trend")
    assert rows["adverb deletion vs the other augmenters at 1%"].verdict.startswith("tie")
    assert rows["adverb deletion keeps meaning best (sentence-embedding cosine)"].verdict == "disagrees"


def test_the_committed_results_give_rows_for_both_data_sets():
    results = load_results()
    assert set(by_dataset(results)) == {"tweets", "bbc"} and "made_by" in results
    rows = compare_all(results)
    assert all(r.verdict for rs in rows.values() for r in rs)
    assert len(rows["tweets"]) == 2 + len(results["tweets"]["config"]["fractions"]) + 1
