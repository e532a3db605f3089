"""``kzoo study FILE.yaml``: a fixed, reported comparison of variants over seeds, each an ordinary ``kzoo train`` run.

A study file::

    name: init_plain                 # the report's name (and the default output folder, studies/NAME)
    description: why it is run
    architecture: vgg11              # every variant's, unless it names its own
    recipe: recipes/sgd.yaml         # optional base recipe (a file); `set:` overrides its fields
    data: mnist5000                  # the data source of every run
    seeds: [0, 1, 2]
    set: {epochs: 5}                 # recipe fields of every run
    param: {classes: 10}             # architecture params of every run
    baseline: he_relu                # the variant the others are compared with, seed by seed
    variants:
      he_relu: {param: {init: he_normal, activation: relu}}
      grid: {param: {init: [torch_legacy, glorot_uniform], activation: [tanh, relu]}}   # four variants
      classifier: {architecture: lenet5_modern, set: {data.source: scene_digits}}
      pretrained: {architecture: yolo_v1, from: classifier}   # kzoo finetune --from (its seed's run) --to yolo_v1

A list value in a variant's ``param:`` or ``set:`` is a grid axis: the variant expands into
one variant per combination, named ``grid-torch_legacy-tanh`` and so on (to give a param a
list value, write it inside a list: ``input: [[32, 32, 1]]``). Every variant x seed trains
into ``OUTPUT/runs/VARIANT/seedN`` through :func:`kzoo.train.train`, so a rerun continues
where it stopped (finished runs are read, an interrupted one resumes), several processes
can share ``OUTPUT`` (a run another process holds is left to it) and a failing variant is
reported while the others go on. ``ensembles: [VARIANT]`` also scores the variant's seeds'
models together (mean of their probabilities, and majority vote; :func:`kzoo.train.evaluate.evaluate`).
A variant with ``from:`` trains a segmentation or detection file on a classifier's backbone, as ``kzoo finetune
--from START --to ARCHITECTURE``: an earlier variant of the study (each seed from that variant's run of the same
seed), a run directory, a .keras file or NAME:RELEASE. Each variant is scored by its own task's measure; the
report's is the baseline's.
The report - ``study.json``, ``report.md``, ``curves.png``
and ``accuracy.png`` - gives each variant's test accuracy (a detection study's test mAP@.5, a segmentation
study's mean IoU; mean and standard deviation over the seeds that finished) and its paired difference to the
baseline (over the seeds both finished).

Modules: :mod:`kzoo.study.plan` (the file read and checked; imports no TensorFlow until it checks a variant),
:mod:`kzoo.study.run` (:func:`~kzoo.study.run.study`: the runs, then the report) and :mod:`kzoo.study.report`.
"""

from kzoo.study.plan import Study, Variant, load_study, run_dir

__all__ = ["Study", "Variant", "load_study", "run_dir"]
