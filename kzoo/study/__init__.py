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

A list value in a variant's ``param:`` or ``set:`` is a grid axis: the variant expands into
one variant per combination, named ``grid-torch_legacy-tanh`` and so on (to give a param a
list value, write it inside a list: ``input: [[32, 32, 1]]``). Every variant x seed trains
into ``OUTPUT/runs/VARIANT/seedN`` through :func:`kzoo.train.train`, so a rerun continues
where it stopped (finished runs are read, an interrupted one resumes), several processes
can share ``OUTPUT`` (a run another process holds is left to it) and a failing variant is
reported while the others go on. ``ensembles: [VARIANT]`` also scores the variant's seeds'
models together (mean of their probabilities, and majority vote; :func:`kzoo.train.evaluate.evaluate`).
The report - ``study.json``, ``report.md``, ``curves.png``
and ``accuracy.png`` - gives each variant's test accuracy (mean and standard deviation over
the seeds that finished) and its paired difference to the baseline (over the seeds both
finished).

Modules: :mod:`kzoo.study.plan` (the file read and checked; imports no TensorFlow until it checks a variant),
:mod:`kzoo.study.run` (:func:`~kzoo.study.run.study`: the runs, then the report) and :mod:`kzoo.study.report`.
"""

from kzoo.study.plan import Study, Variant, load_study, run_dir

__all__ = ["Study", "Variant", "load_study", "run_dir"]
