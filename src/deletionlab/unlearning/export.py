"""CSV files for a report: the explorer's run (timeline with bands, ROC curves) and the committed results.

Plain text, one row per number, columns named in words; the widget offers them as downloads.
"""

from __future__ import annotations

import csv
import io

from deletionlab.unlearning.dashboard import TIMELINE_ATTACKS, TPR_FPR, Shown, roc_at


def _csv(header: list[str], rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else f"{v:.6g}" if isinstance(v, float) else v for v in row])
    return buf.getvalue()


def timeline_csv(shown: Shown) -> str:
    """Every learner, release and attack of a run: AUC with its bootstrap band, TPR at 1 % FPR with
    its band, accuracy (Wilson band) and cost; the run's settings in the first column's header rows."""
    res, b = shown.result, shown.bands
    pct = f"{b.level:.0%}"
    header = ["learner", "release", "attack", "auc", f"auc_{pct}_lo", f"auc_{pct}_hi", f"tpr_at_{TPR_FPR:g}_fpr",
              f"tpr_{pct}_lo", f"tpr_{pct}_hi", "deleted_records_so_far", "negatives", "accuracy", f"accuracy_{pct}_lo",
              f"accuracy_{pct}_hi", "cost_record_passes"]
    rows = []
    for key, run in res.runs.items():
        acc_lo, acc_hi = b.accuracy[key]
        for t, rel in enumerate(run.releases):
            if t == 0:
                rows.append([run.label, 0, "", None, None, None, None, None, None, 0, res.n_outsiders, rel["accuracy"], acc_lo[0],
                             acc_hi[0], rel["cost"]])
                continue
            for att in TIMELINE_ATTACKS:
                m = rel["attacks"].get(att)
                if m is None or att not in b.auc:
                    continue
                lo, hi = (v[t - 1] for v in b.auc[att][key])
                tlo, thi = (v[t - 1] for v in b.tpr[att][key])
                rows.append([run.label, t, att, m["auc"], lo, hi, m["tpr"][str(TPR_FPR)], tlo, thi, m["n_pos"], m["n_neg"],
                             rel["accuracy"], acc_lo[t], acc_hi[t], rel["cost"]])
    return _csv(header, rows)


def roc_csv(shown: Shown, release: int, attacks=("single_online", "average_online")) -> str:
    """The ROC curves (every learner, the given attacks) at one release."""
    rows = []
    for run in shown.result.runs.values():
        for att in attacks:
            sc = run.scores[release].get(att) if 0 < release < len(run.scores) else None
            if sc is None:
                continue
            fpr, tpr = roc_at(sc)
            rows.extend([run.label, att, release, float(f), float(t)] for f, t in zip(fpr, tpr))
    return _csv(["learner", "attack", "release", "false_positive_rate", "true_positive_rate"], rows)


def _series_rows(where: str, req: str, label: str, name: str, st: dict, start: int) -> list[list]:
    means, stds = st["mean"], st["std"]
    if not isinstance(means, list):  # one number per seed (e.g. the last release only): no release index
        return [[where, req, label, name, "", float(means), float(stds), st["n"]]]
    return [[where, req, label, name, start + i, float(m), float(s), st["n"]] for i, (m, s) in enumerate(zip(means, stds))]


def results_csv(results: dict) -> str:
    """The committed multi-seed results (``results.json``): mean, standard deviation and seeds of every
    series, per requester, learner and release -- the main run, the certified run, the σ sweep and
    the accumulation run (there "release" counts the releases since the deletion)."""
    rows = []
    certified = (results.get("certified") or {}).get("requesters") or {}
    for where, reqs in (("defaults", results.get("requesters") or {}), ("certified", certified)):
        for req, entry in reqs.items():
            for e in entry.values():
                for name, st in e.items():
                    if isinstance(st, dict) and "mean" in st:
                        rows += _series_rows(where, req, e["label"], name, st, 0 if name in ("accuracy", "cost") else 1)
    sw = results.get("sigma_sweep") or {}
    for sigma, point in (sw.get("points") or {}).items():
        for name, st in point.items():
            if isinstance(st, dict) and "mean" in st:
                rows += _series_rows(f"sigma_sweep (σ = {sigma})", sw.get("requester", ""), sw.get("learner", ""), name, st, 1)
    for e in (results.get("accumulation") or {}).values():
        for name in ("single", "average"):
            if name in e:
                rows += _series_rows("accumulation", "one batch, then no requests", e["label"], name, e[name], 1)
    return _csv(["setting", "requester", "learner", "series", "release", "mean_over_seeds", "std_over_seeds", "seeds"], rows)
