"""Running a study: every variant x seed as an ordinary ``kzoo train`` run, then the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import keras

from kzoo.errors import KzooError, SpecError, clip, did_you_mean, printable
from kzoo.study.plan import load_study, run_dir
from kzoo.study.report import report
from kzoo.train import train
from kzoo.train.dense_start import finetune_to


def study(
    path: str | Path,
    output: str | None = None,
    only: list[str] | None = None,
    sets: dict[str, Any] | None = None,
    seeds: list[int] | None = None,
) -> dict[str, Any]:
    """Run (or continue) a study and write its report; returns study.json's content. ``sets`` (recipe fields)
    apply to every run over the file's; ``seeds`` replace the file's."""
    plan = load_study(path, sets, seeds)
    out = Path(output) if output else Path("studies") / plan.name
    variants = plan.variants
    if only:
        names = [v.name for v in plan.variants]
        unknown = [o for o in only if o not in names]
        if unknown:
            raise SpecError(
                f"--variant {unknown[0]!r} is no variant of {plan.name}", hint=did_you_mean(unknown[0], names)
            )
        variants = [v for v in plan.variants if v.name in only]
    total = len(variants) * len(plan.seeds)
    runs = f"{len(variants)} variants x {len(plan.seeds)} seeds = {total} runs"
    print(printable(f"kzoo study {plan.name}: {runs} into {out}"))
    status: dict[tuple[str, int], dict[str, Any]] = {}
    named = {v.name for v in plan.variants}  # a from: that names one starts from its run of the same seed
    k = 0
    for variant in variants:
        for seed in plan.seeds:
            k += 1
            folder = run_dir(out, variant.name, seed)
            print(printable(f"[{k}/{total}] {variant.name} seed {seed}: {folder}"), flush=True)
            keras.backend.clear_session()
            try:
                run_sets = {**variant.sets, "seed": seed}
                if variant.start is not None:  # a classifier's backbone first (kzoo finetune --from S --to A)
                    start = str(run_dir(out, variant.start, seed)) if variant.start in named else variant.start
                    results = finetune_to(
                        start, variant.architecture, variant.recipe, run_sets, variant.params, str(folder)
                    )
                else:
                    results = train(variant.architecture, variant.recipe, run_sets, variant.params, str(folder))
                status[(variant.name, seed)] = {"status": "finished", "test_accuracy": results.get("test_accuracy")}
            except KzooError as exc:
                state = "elsewhere" if "in use by another kzoo process" in exc.message else "failed"
                status[(variant.name, seed)] = {"status": state, "error": clip(exc.message)}
                print(f"kzoo: {variant.name} seed {seed} {state}: {clip(exc.message)}", file=sys.stderr, flush=True)
            except (OSError, ValueError, RuntimeError, ArithmeticError) as exc:
                message = clip(f"{type(exc).__name__}: {exc}")
                status[(variant.name, seed)] = {"status": "failed", "error": message}
                print(f"kzoo: {variant.name} seed {seed} failed: {message}", file=sys.stderr, flush=True)
    doc = report(plan, out, status)
    if doc["failed"] and not any(row["finished"] for row in doc["variants"]):
        raise KzooError(
            f"no run of study {plan.name} finished: {len(doc['failed'])} failed, the first: {doc['failed'][0]}",
            hint=f"the failures are listed in {out / 'study.json'}; mend the study and rerun it",
        )
    return doc
