"""A study's report from its runs' results: study.json, report.md, curves.png and accuracy.png."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError, SpecError, clip, printable
from kzoo.files import read_bytes, write_text_atomic
from kzoo.inspect.pictures import pyplot, save
from kzoo.study.plan import Study, run_dir
from kzoo.train.evaluate import evaluate
from kzoo.train.rundir import RESULTS, read_log


def _curve(folder: Path, column: str) -> list[float]:
    """One column of a run's log.csv; none where the run has no readable log (yet)."""
    try:
        return read_log(folder).get(column, [])
    except SpecError:
        return []


def _read_results(file: Path) -> dict[str, Any] | str:
    """A run's results.json, or why it cannot be used (not JSON, not a mapping, no accuracy in [0, 1])."""
    try:
        data = json.loads(read_bytes(file, "results file", 10 << 20).decode("utf-8"))
    except (KzooError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return f"{file} is not readable JSON ({clip(exc, 100)})"
    if not isinstance(data, dict):
        return f"{file} holds {type(data).__name__}, not a mapping of results"
    accuracy = data.get("test_accuracy")
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0 <= accuracy <= 1:
        return f"{file} has no test_accuracy between 0 and 1 (it has {clip(repr(accuracy), 40)})"
    return data


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


#: a run's score, by task: the first of these its results hold (detection, segmentation, classification)
SCORES = {"test_map50": "test mAP@.5", "test_mean_iou": "test mean IoU", "test_accuracy": "test accuracy"}


def report(plan: Study, out: Path, status: dict[tuple[str, int], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Read every run's results (finished by this process or another) and write study.json, report.md and plots."""
    status = status or {}
    rows = []
    scores: dict[str, dict[int, float]] = {}
    keys: dict[str, str] = {}  # each variant's score: a classifier's accuracy, a segmenter's mean IoU, ...
    for variant in plan.variants:
        scores[variant.name] = {}
        runs = []
        key = "test_accuracy"
        for seed in plan.seeds:
            folder = run_dir(out, variant.name, seed)
            results_file = folder / RESULTS
            state = status.get((variant.name, seed), {})
            entry = {"seed": seed, "run_dir": str(folder), "status": state.get("status", "not run")}
            results = _read_results(results_file) if results_file.is_file() else None
            if isinstance(results, str):  # damaged: named, skipped, the others reported
                entry.update(status="failed", error=results)
            elif results is not None:
                key = next(k for k in SCORES if k in results or k == "test_accuracy")
                entry.update(status="finished", epochs=results.get("epochs_run"))
                entry.update({k: results[k] for k in (*SCORES, "test_map") if k in results})
                scores[variant.name][seed] = float(results[key])
            elif "error" in state:
                entry["error"] = state["error"]
            runs.append(entry)
        mean, std = _mean_std(list(scores[variant.name].values()))
        keys[variant.name] = key
        rows.append({"variant": variant.name, "architecture": variant.architecture, "param": variant.params,
                     "metric": SCORES[key],
                     "set": {k: v for k, v in variant.sets.items() if k != "data.source"},
                     "finished": len(scores[variant.name]), "mean": mean, "std": std, "runs": runs})  # fmt: skip
    main = keys[plan.baseline] if plan.baseline is not None else max(keys.values(), key=list(keys.values()).count)
    if plan.baseline is not None:
        base = scores[plan.baseline]
        for row in rows:
            if keys[row["variant"]] != main:  # another task's score (the classifier a detector starts from)
                row["paired_difference"], row["paired_std"], row["paired_seeds"] = None, None, 0
                continue
            paired = [
                scores[row["variant"]][s] - base[s] for s in plan.seeds if s in base and s in scores[row["variant"]]
            ]
            row["paired_difference"], row["paired_std"] = _mean_std(paired)
            row["paired_seeds"] = len(paired)
    failed = [f"{row['variant']} seed {r['seed']}: {r.get('error', '')}" for row in rows for r in row["runs"]
              if r["status"] == "failed"]  # fmt: skip
    ensembles = [_ensemble(plan, out, name, scores[name]) for name in plan.ensembles]
    doc = {
        "study": plan.name,
        "file": plan.file,
        "description": plan.description,
        "seeds": plan.seeds,
        "baseline": plan.baseline,
        "metric": SCORES[main],
        "variants": rows,
        "ensembles": ensembles,
        "failed": failed,
        "complete": all(r["status"] == "finished" for row in rows for r in row["runs"]),
        "output": str(out),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "study.json", json.dumps(doc, indent=2, default=str) + "\n")
    write_text_atomic(out / "report.md", markdown(doc))
    doc["pictures"] = _plots(plan, out, rows)
    write_text_atomic(out / "study.json", json.dumps(doc, indent=2, default=str) + "\n")
    print(printable(table(doc)))
    if failed:
        others = "; the others are reported" if any(row["finished"] for row in rows) else ""
        print(f"kzoo: {len(failed)} run(s) failed (see {out / 'study.json'}){others}", file=sys.stderr)
        for line in failed[:5]:
            print(printable(f"  {clip(line, 200)}"), file=sys.stderr)
    return doc


def _ensemble(plan: Study, out: Path, name: str, finished: dict[int, float]) -> dict[str, Any]:
    """The finished seeds' models of a variant, scored together on their test split."""
    seeds = sorted(finished)
    entry: dict[str, Any] = {"variant": name, "seeds": seeds}
    if len(seeds) < 2:
        return {**entry, "error": f"{len(seeds)} finished run(s): an ensemble needs two"}
    try:
        result = evaluate([str(run_dir(out, name, s)) for s in seeds])
    except (KzooError, OSError, ValueError) as exc:
        return {**entry, "error": clip(str(exc))}
    return {**entry, "mean_probability": result["mean_probability"], "majority_vote": result["majority_vote"],
            "members": result.get("members")}  # fmt: skip


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"


def _named(row: dict[str, Any], doc: dict[str, Any]) -> str:
    """A variant's name, with its score's name where it is not the study's (a classifier among detectors)."""
    own = row.get("metric", doc.get("metric"))
    return row["variant"] if own == doc.get("metric") else f"{row['variant']} ({own})"


def table(doc: dict[str, Any]) -> str:
    """The report as a text table: test accuracy (%) mean ± std, and the paired difference to the baseline."""
    metric = doc.get("metric", "test accuracy") + " %"
    lines = [f"{'variant':<32} {'runs':>5} {metric:>17} {'vs ' + str(doc['baseline'] or '-'):>22}"]
    for row in doc["variants"]:
        acc = f"{_pct(row['mean'])} ± {_pct(row['std'])}" if row["mean"] is not None else "-"
        diff = row.get("paired_difference")
        vs = f"{_pct(diff, True)} ± {_pct(row.get('paired_std'))}" if diff is not None else "-"
        name = _named(row, doc)
        lines.append(f"{name:<32} {row['finished']:>2}/{len(row['runs']):<2} {acc:>17} {vs:>22}")
    for ens in doc.get("ensembles", []):
        label = f"{ens['variant']} (ensemble)"
        value = _pct(ens.get("mean_probability")) if "error" not in ens else ens["error"]
        lines.append(f"{label:<32} {len(ens['seeds']):>2}    {value:>17}")
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    base = doc["baseline"]
    lines = [f"# Study {doc['study']}", ""]
    if doc.get("description"):
        lines += [str(doc["description"]).strip(), ""]
    lines += [
        f"Seeds {', '.join(map(str, doc['seeds']))}; {doc.get('metric', 'test accuracy')} in %, mean ± standard "
        f"deviation over the seeds that finished"
        + (f"; the paired difference to `{base}` over the seeds both finished." if base else "."),
        "",
        f"| variant | runs | {doc.get('metric', 'test accuracy')} | " + (f"difference to {base} |" if base else ""),
        "|---|---|---|" + ("---|" if base else ""),
    ]
    for row in doc["variants"]:
        acc = f"{_pct(row['mean'])} ± {_pct(row['std'])}" if row["mean"] is not None else "-"
        line = f"| {_named(row, doc)} | {row['finished']}/{len(row['runs'])} | {acc} |"
        if base:
            diff = row.get("paired_difference")
            line += f" {_pct(diff, True)} ± {_pct(row.get('paired_std'))} |" if diff is not None else " - |"
        lines.append(line)
    for ens in doc.get("ensembles", []):
        if "error" in ens:
            lines.append(f"| {ens['variant']}, ensemble | - | {ens['error']} |" + (" |" if base else ""))
        else:
            lines.append(
                f"| {ens['variant']}, ensemble of seeds {', '.join(map(str, ens['seeds']))} (mean probability; "
                f"majority vote {_pct(ens['majority_vote'])}) | {len(ens['seeds'])} models | "
                f"{_pct(ens['mean_probability'])} |" + (" |" if base else "")
            )
    if doc["failed"]:
        lines += ["", "Failed runs:", ""] + [f"- {f}" for f in doc["failed"]]
    lines += ["", "![curves](curves.png)", "", "![accuracy](accuracy.png)", ""]
    return "\n".join(lines)


def _plots(plan: Study, out: Path, rows: list[dict[str, Any]]) -> list[str]:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    lowest_loss = float("inf")
    for row in rows:
        for ax, column in zip(axes, ("val_accuracy", "loss"), strict=True):
            curves = [_curve(run_dir(out, row["variant"], s), column) for s in plan.seeds]
            curves = [c for c in curves if c]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            mean = [sum(c[i] for c in curves) / len(curves) for i in range(n)]
            ax.plot(range(1, n + 1), mean, label=row["variant"])
            if column == "loss" and mean:
                lowest_loss = min(lowest_loss, *mean)
    for ax, column in zip(axes, ("validation accuracy", "training loss"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(column + " (mean over seeds)")
        ax.grid(alpha=0.3)
    if 0 < lowest_loss < float("inf"):
        axes[1].set_yscale("log")  # a diverging variant's loss (tens) would flatten the others' (tenths)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"study {plan.name}")
    written = [save(fig, out / "curves.png")]
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(rows) + 2), 4))
    shown = [r for r in rows if r["mean"] is not None]
    ax.bar(range(len(shown)), [100 * r["mean"] for r in shown], yerr=[100 * (r["std"] or 0) for r in shown], capsize=3)
    ax.set_xticks(range(len(shown)), [r["variant"] for r in shown], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("test accuracy % (mean ± std over seeds)")
    if shown:
        low = min(100 * (r["mean"] - (r["std"] or 0)) for r in shown)
        ax.set_ylim(max(0, low - 2), 100)
    other = next((k for k in SCORES if any(k in r for row in rows for r in row["runs"])), "test_accuracy")
    if other != "test_accuracy":
        ax.set_ylabel(f"{SCORES[other]} % (mean ± std over seeds)")
        ax.set_ylim(0, 100)
    written.append(save(fig, out / "accuracy.png"))
    return written
