"""``kzoo finetune``: adapt a trained network to new images.

The steps (kzoo.transfer): cut the network below its classifier (or at a
named layer), put a new head on it, freeze the backbone and train the head;
then, optionally, unfreeze named layers or scopes and continue at a lower
learning rate. ``features`` mode instead exports the frozen backbone's
features once and fits only the head on them (the lectures' "chop off the
last layer and train a classifier"), much faster than fine-tuning.

The run directory is that of ``kzoo train`` (model.keras, recipe.yaml,
log.csv, tensorboard/, results.json), and results.json also holds the test
accuracy of the head alone (``test_accuracy_head``) and after unfreezing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kzoo.errors import SpecError
from kzoo.files import write_text_atomic
from kzoo.train.fit import (
    _run_dir,
    check_batch,
    compile_model,
    evaluate_test,
    fit_phase,
    normalization,
    scope,
    start,
    write_results,
)


def load_source(source: str, params: dict[str, Any] | None = None) -> tuple[Any, Any, str | None]:
    """The network to adapt: a ``.keras`` file, a run directory, or ``NAME[:WEIGHTS]`` of the zoo.

    Returns (model, graph, weights); graph is None for a saved model. ``WEIGHTS``
    is ``imagenet`` (keras.applications' weights, ported) or a weights file.
    """
    from kzoo.build import load_saved
    from kzoo.zoo import find, load

    path = Path(source)
    if path.suffix == ".keras" or (path / "model.keras").is_file():
        if params:
            raise SpecError("--param applies to a zoo architecture, not to a saved model")
        return load_saved(path), None, None
    name, _, weights = source.partition(":")
    find(name)  # a clear error (with "did you mean") for an unknown name
    from kzoo.graph import analyse
    from kzoo.zoo import resolve_source

    model = load(name, weights=weights or None, **(params or {}))
    return model, analyse(resolve_source(name), dict(params or {}), "--param"), weights or None


def finetune(
    source: str,
    recipe_file: str | None = None,
    sets: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    classes: int | str = "auto",
) -> dict[str, Any]:
    """Fine-tune ``source`` on the recipe's data; returns results.json's content.

    >>> kzoo.finetune("runs/lenet5/model.keras", sets={"data.source": "folder:photos", "finetune.unfreeze": "c5"})
    """
    start_time = time.time()
    import numpy as np

    from kzoo.build import rebuild_with_front, save_atomic
    from kzoo.train.data import load_data
    from kzoo.train.recipe import dump, resolve_recipe
    from kzoo.transfer import attach_head, cut, freeze, select, unfreeze
    from kzoo.zoo import imagenet_front

    recipe, _ = resolve_recipe(None, recipe_file, sets)
    ft = recipe.finetune
    strategy = start(recipe)
    with scope(strategy):
        model, graph, weights = load_source(source, params)
    input_shape = tuple(int(d) for d in model.input_shape[1:])
    splits = load_data(recipe.data, input_shape)
    if classes != "auto" and int(classes) != splits.classes:
        raise SpecError(f"--classes {classes}, but {splits.source} has {splits.classes} classes", hint="--classes auto")
    replicas = check_batch(recipe, splits, strategy)
    with scope(strategy):
        if graph is not None and weights == "imagenet":  # keras.applications' preprocessing, as a layer
            model = imagenet_front(model, graph)
        elif graph is not None and recipe.preprocess.normalize:  # a zoo network: the recipe's normalisation
            model = rebuild_with_front(model, graph, normalization(recipe, splits, input_shape[-1]))
        backbone = freeze(cut(model, ft.cut))
        if ft.unfreeze:
            select(backbone, ft.unfreeze)  # a wrong name fails now, not after training the head
        # The head is built (and its YAML checked) before anything is written.
        net = attach_head(backbone, ft.head, splits.classes)
    run_dir = _run_dir(recipe, f"{model.name}-finetune", output)
    print(
        f"kzoo finetune {model.name} on {splits.source}: {splits.train_size} training images, "
        f"{splits.classes} classes; run directory {run_dir}"
    )
    with scope(strategy):
        if ft.features:
            net, head_scores, history = _features(backbone, recipe, splits, run_dir, replicas)
        else:
            lr = compile_model(net, recipe)
    write_text_atomic(run_dir / "recipe.yaml", dump(recipe))
    results: dict[str, Any] = {"source": source, "data": splits.source, "mode": "features" if ft.features else "fit"}
    epochs = 0
    if not ft.features:
        history, _, test = fit_phase(net, recipe, splits, input_shape, run_dir, lr, backup="backup-head")
        head_scores = evaluate_test(net, test)
    epochs += len(history.history.get("loss", []))
    results.update(test_accuracy_head=head_scores["test_accuracy"], test_loss_head=head_scores["test_loss"])
    scores, unfrozen = head_scores, []
    if ft.unfreeze:
        with scope(strategy):
            unfrozen = unfreeze(net, ft.unfreeze, ft.batchnorm)
            low = compile_model(net, recipe, lr=recipe.optimizer.lr * ft.lr_factor)
        history, _, test = fit_phase(
            net,
            recipe,
            splits,
            input_shape,
            run_dir,
            low,
            backup="backup-unfreeze",
            epochs=ft.unfreeze_epochs,
            append_log=True,
        )
        epochs += len(history.history.get("loss", []))
        scores = evaluate_test(net, test)
    save_atomic(net, run_dir / "model.keras")
    results.update(
        architecture=net.name,
        **scores,
        unfrozen=unfrozen,
        trainable_params=int(sum(np.prod(w.shape) for w in net.trainable_weights)),
        epochs_run=epochs,
        wall_seconds=round(time.time() - start_time, 2),
        seed=recipe.seed,
        replicas=replicas,
        global_batch=recipe.batch_size,
        run_dir=str(run_dir),
    )
    write_results(run_dir, results)
    return results


def features(backbone: Any, dataset: Any, batch_size: int = 256) -> tuple[Any, Any]:
    """The backbone's features and the labels of a (image, label) dataset, as numpy arrays."""
    import numpy as np

    xs, ys = [], []
    for images, labels in dataset.batch(batch_size):
        xs.append(np.asarray(backbone(images, training=False)))
        ys.append(labels.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def _features(backbone: Any, recipe: Any, splits: Any, run_dir: Path, replicas: int) -> tuple[Any, Any, Any]:
    """Features mode: export the frozen backbone's features once, fit only the head on them."""
    import dataclasses

    import keras
    import tensorflow as tf

    from kzoo.train.recipe import AugmentSpec
    from kzoo.transfer import head_model

    arrays = {k: features(backbone, getattr(splits, k)) for k in ("train", "val", "test")}
    shape = tuple(arrays["train"][0].shape[1:])
    feats = dataclasses.replace(splits, **{k: tf.data.Dataset.from_tensor_slices(v) for k, v in arrays.items()})
    # The features are fixed: no augmentation; best.keras would hold the head alone, so no checkpoint.
    plain = recipe.model_copy(
        update={"augment": AugmentSpec(), "callbacks": recipe.callbacks.model_copy(update={"checkpoint": False})}
    )
    head = head_model(recipe.finetune.head, shape, splits.classes)
    lr = compile_model(head, plain)
    history, _, test = fit_phase(head, plain, feats, shape, run_dir, lr, backup="backup-features")
    head_scores = evaluate_test(head, test)
    net = keras.Model(backbone.input, head(backbone.output), name=backbone.name.removesuffix("_backbone"))
    compile_model(net, recipe)
    return net, head_scores, history
