"""``kzoo finetune``: adapt a trained network to new images.

The steps (kzoo.transfer): cut the network below its classifier (or at a
named layer), put a new head on it, freeze the backbone and train the head;
then, optionally, unfreeze named layers or scopes and continue at a lower
learning rate. ``features`` mode instead exports the frozen backbone's
features once and fits only the head on them (the lectures' "chop off the
last layer and train a classifier"), much faster than fine-tuning.

The run directory is that of ``kzoo train`` (run.json, model.keras,
recipe.yaml, log.csv, tensorboard/, results.json), and results.json also holds
the test accuracy of the head alone (``test_accuracy_head``) and after
unfreezing. Each phase resumes from its own backup; a finished head phase is
kept (``phases/head.weights.h5``), so a run killed while unfreezing does not
train its head again. The model knows the new data's class names.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tensorflow as tf

from kzoo.api import Positive, StrictBool
from kzoo.builder import rebuild_with_front
from kzoo.errors import SpecError, printable
from kzoo.files import atomic_path, write_text_atomic
from kzoo.pretrained import front
from kzoo.saved import image_shape, load_saved, meta, save_atomic
from kzoo.tasks import task_of
from kzoo.train.data import check_source, load_data
from kzoo.train.fit import check_data, compile_model, evaluate_test, fit_phase, report_finished, run_path, write_results
from kzoo.train.pipeline import normalization
from kzoo.train.recipe import AugmentSection, dump, resolve_recipe
from kzoo.train.rundir import MODEL, RECIPE, RunDir
from kzoo.train.strategy import scope, start
from kzoo.transfer import HEAD, attach_head, cut, freeze, head_model, select, unfreeze
from kzoo.zoo import with_weights


def load_source(source: str, params: dict[str, Any] | None = None) -> tuple[Any, Any, str | None]:
    """The network to adapt: a ``.keras`` file, a run directory, or ``NAME[:WEIGHTS]`` of the zoo.

    Returns (model, graph, release); graph is None for a saved model. ``WEIGHTS``
    is a release (``imagenet``, ``torchvision``, ``timm``, ...: ``kzoo weights NAME``) or a weights
    file; release is the release it names or whose layout the file has (None for a Keras file).
    """
    path = Path(source)
    if path.suffix == ".keras" or (path / MODEL).is_file() or path.is_dir():
        if params:
            raise SpecError("--param applies to a zoo architecture, not to a saved model", hint="drop --param")
        return load_saved(path), None, None
    name, _, weights = source.partition(":")
    return with_weights(name, weights or None, params)


def check_source_fits(model: Any, source: str) -> tuple[int, ...]:
    """The model's input shape, which must be an image (rows, cols, 1 or 3), of a classifier."""
    task = task_of(meta(model)).name
    if task != "classification":
        raise SpecError(
            f"--from {source} is a {task} model; kzoo finetune gives a classifier a new head",
            hint="train a segmentation model with kzoo train; kzoo.convolutionalise(classifier, fcn) starts an FCN "
            "from a trained classifier's weights",
        )
    return image_shape(model, f"--from {source}")


def finetune(
    source: str,
    recipe_file: str | None = None,
    sets: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    classes: Positive | Literal["auto"] = "auto",
    overwrite: StrictBool = False,
) -> dict[str, Any]:
    """Fine-tune ``source`` on the recipe's data; returns results.json's content.

    >>> kzoo.finetune("runs/lenet5/model.keras", sets={"data.source": "folder:photos", "finetune.unfreeze": "c5"})
    """
    start_time = time.time()

    recipe, _ = resolve_recipe(None, recipe_file, sets)
    check_source(recipe.data.source)
    if recipe.finetune.unfreeze is not None and not [n for n in recipe.finetune.unfreeze.split(",") if n.strip()]:
        raise SpecError(f"finetune.unfreeze {recipe.finetune.unfreeze!r} names no layer", path="finetune.unfreeze")
    name = source.partition(":")[0] if not Path(source).exists() else Path(source).stem or "model"
    with RunDir.open(run_path(recipe, f"{Path(name).name}-finetune", output)) as run:
        strategy = start(recipe)
        with scope(strategy):
            model, graph, release = load_source(source, params)
        input_shape = check_source_fits(model, source)

        splits = load_data(recipe.data, input_shape)
        if classes != "auto" and int(classes) != splits.classes:
            raise SpecError(
                f"--classes {classes}, but {splits.source} has {splits.classes} classes", hint="--classes auto"
            )
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        check_data(recipe, splits, replicas)
        with scope(strategy):
            net, backbone = _network(model, graph, release, recipe, splits, input_shape)
        meta = {
            "class_names": list(splits.class_names),
            "input": {"size": list(input_shape[:2]), "channels": input_shape[2], "pad": recipe.data.pad},
            "trained_on": splits.source,
            "finetuned_from": source,
        }
        run.check("finetune", _settings(source, recipe, splits, net), overwrite)
        if run.finished_results is not None:
            return report_finished(run)
        print(
            printable(
                f"kzoo finetune {model.name} on {splits.source}: {splits.train_size} training images, "
                f"{splits.classes} classes; run directory {run.path}"
            )
        )
        run.started = True
        results = _phases(run, net, backbone, recipe, splits, input_shape, replicas, strategy, meta)

        save_atomic(net, run.path / MODEL, **meta)
        results.update(
            source=source,
            data=splits.source,
            architecture=net.name,
            wall_seconds=round(time.time() - start_time, 2),
            seed=recipe.seed,
            replicas=replicas,
            global_batch=recipe.batch_size,
            class_names=list(splits.class_names),
            run_dir=str(run.path),
        )
        write_results(run.path, results)
        run.finish()
        for phase in ("backup-head", "backup-unfreeze", "backup-features"):
            shutil.rmtree(run.path / phase, ignore_errors=True)
    return results


def _network(model: Any, graph: Any, release: Any, recipe: Any, splits: Any, input_shape: tuple) -> Any:
    """The source with its front (the release's input transform or the recipe's normalisation), cut, frozen,
    headed."""

    ft = recipe.finetune
    if graph is not None and release is not None:  # the release's input transform, as a layer
        model = front(model, graph, release)
    elif graph is not None and (recipe.preprocess.normalize or recipe.preprocess.scale):  # the recipe's front
        model = rebuild_with_front(model, graph, normalization(recipe, splits, input_shape[-1]))
    backbone = freeze(cut(model, ft.cut))
    if ft.unfreeze:
        select(backbone, ft.unfreeze)  # a wrong name fails now, not after training the head
    # The head is built (and its YAML checked) before anything is written.
    return attach_head(backbone, ft.head, splits.classes), backbone


def _settings(source: str, recipe: Any, splits: Any, net: Any) -> dict[str, Any]:
    plain = recipe.model_dump(mode="json", exclude={"verbose", "output"})
    data = {"source": splits.source, "classes": splits.class_names, "train_images": splits.train_size}
    model = {"from": source, "name": net.name, "params": int(net.count_params())}
    return json.loads(json.dumps({"recipe": plain, "model": model, "data": data}, default=str))


def _phases(
    run: RunDir,
    net: Any,
    backbone: Any,
    recipe: Any,
    splits: Any,
    shape: tuple,
    replicas: int,
    strategy: Any,
    meta: dict,
) -> dict[str, Any]:
    """The head phase (or features mode), then the unfreezing phase; each resumes, the head is kept once done."""

    ft = recipe.finetune
    write_text_atomic(run.path / RECIPE, _dump(recipe))
    done = run.path / "phases" / "head.json"
    head_weights = run.path / "phases" / "head.weights.h5"
    rows: list[dict] = []
    if done.is_file() and head_weights.is_file():  # the head phase finished before a kill
        info = json.loads(done.read_text())
        net.load_weights(head_weights)
        head_scores, epochs, rows = info["scores"], info["epochs"], info["rows"]
        with scope(strategy):
            compile_model(net, recipe)
    elif ft.features:
        with scope(strategy):
            net, head_scores, phase = _features(net, backbone, recipe, splits, run.path, strategy)
        epochs, rows = phase.first_epoch + phase.epochs_run, phase.rows
    else:
        with scope(strategy):
            lr = compile_model(net, recipe)
        phase, _, test = fit_phase(
            net, recipe, splits, shape, run.path, lr, "backup-head", meta=meta, replicas=replicas, strategy=strategy
        )
        head_scores = evaluate_test(net, test)
        epochs, rows = phase.first_epoch + phase.epochs_run, phase.rows
    if not done.is_file():
        head_weights.parent.mkdir(exist_ok=True)

        with atomic_path(head_weights) as tmp:
            net.save_weights(tmp)
        write_text_atomic(done, json.dumps({"scores": head_scores, "epochs": epochs, "rows": rows}) + "\n")
    results: dict[str, Any] = {"mode": "features" if ft.features else "fit"}
    results.update(test_accuracy_head=head_scores["test_accuracy"], test_loss_head=head_scores["test_loss"])
    scores, unfrozen, stopped = head_scores, [], "the head trained"
    if ft.unfreeze:
        with scope(strategy):
            unfrozen = unfreeze(net, ft.unfreeze, ft.batchnorm)
            low = compile_model(net, recipe, lr=recipe.optimizer.lr * ft.lr_factor)
        phase, _, test = fit_phase(
            net,
            recipe,
            splits,
            shape,
            run.path,
            low,
            "backup-unfreeze",
            ft.unfreeze_epochs,
            rows,
            meta,
            replicas,
            strategy,
        )
        epochs += phase.first_epoch + phase.epochs_run
        scores, stopped = evaluate_test(net, test), phase.stop_reason()
    trainable = int(sum(np.prod(w.shape) for w in net.trainable_weights))
    return {
        **results,
        **scores,
        "unfrozen": unfrozen,
        "trainable_params": trainable,
        "epochs_run": epochs,
        "stopped": stopped,
    }


def _dump(recipe: Any) -> str:

    return dump(recipe)


def features(backbone: Any, dataset: Any, batch_size: int = 256) -> tuple[Any, Any]:
    """The backbone's features and the labels of a (image, label) dataset, as numpy arrays."""

    xs, ys = [], []
    for images, labels in dataset.batch(batch_size):
        xs.append(np.asarray(backbone(images, training=False)))
        ys.append(labels.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def _features(
    net: Any, backbone: Any, recipe: Any, splits: Any, run_dir: Path, strategy: Any = None
) -> tuple[Any, Any, Any]:
    """Features mode: export the frozen backbone's features once, fit only the head on them."""

    arrays = {k: features(backbone, getattr(splits, k)) for k in ("train", "val", "test")}
    shape = tuple(arrays["train"][0].shape[1:])
    feats = dataclasses.replace(splits, **{k: tf.data.Dataset.from_tensor_slices(v) for k, v in arrays.items()})
    # The features are fixed: no augmentation; best.keras would hold the head alone, so no checkpoint.
    plain = recipe.model_copy(
        update={
            "augment": AugmentSection(),
            "callbacks": recipe.callbacks.model_copy(update={"checkpoint": False}),
            "preprocess": recipe.preprocess.model_copy(update={"normalize": False, "scale": None}),
        }
    )
    head = head_model(recipe.finetune.head, shape, splits.classes)
    lr = compile_model(head, plain)
    phase, _, test = fit_phase(head, plain, feats, shape, run_dir, lr, backup="backup-features", strategy=strategy)
    head_scores = evaluate_test(head, test)
    net.get_layer(HEAD).set_weights(head.get_weights())
    compile_model(net, recipe)
    return net, head_scores, phase
