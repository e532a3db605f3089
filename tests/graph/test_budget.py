"""Static memory checks (kzoo.graph.budget): refused before anything is allocated, naming the largest layer."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError
from kzoo.graph.budget import available_memory, check_training, check_weights

HUGE_DENSE = """
name: big
input: [8, 8, 1]
layers:
  - flatten
  - dense: {name: wide, units: 1000000000000}
"""


def test_weights_that_cannot_fit_are_refused_naming_the_layer(analyse_text):
    graph = analyse_text(HUGE_DENSE)
    with pytest.raises(SpecError, match="to build it needs about") as err:
        check_weights(graph)
    assert "'wide'" in err.value.hint and err.value.line == 6


def test_activations_of_a_training_batch_are_counted(analyse_text):
    small = analyse_text("name: s\ninput: [8, 8, 1]\nlayers: [{conv: {filters: 4, kernel: 3}}]\n")
    check_training(small, 32)
    wide = analyse_text("name: w\ninput: [30000, 30000, 1]\nlayers: [{conv: {name: c, filters: 64, kernel: 3}}]\n")
    check_weights(wide)  # a few hundred weights: it builds
    with pytest.raises(SpecError, match="batches of 8") as err:
        check_training(wide, 8)
    assert "'c'" in err.value.hint and available_memory() > 0


def test_building_refuses_before_keras_allocates(write):
    import kzoo

    with pytest.raises(SpecError, match="memory"):
        kzoo.build(write(HUGE_DENSE))
