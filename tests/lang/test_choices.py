"""Params that select branches or table rows have allowed values (kzoo.lang.choices), checked with a hint."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError
from kzoo.lang.choices import derived_choices, is_allowed
from kzoo.lang.loader import loads

FILE = """
name: x
input: [8, 8, 1]
params: {pool: max, size: small, units: 4, mode: a, free: hello}
tables:
  widths: {small: [2], large: [4, 8]}
layers:
  - when: "${pool == 'max'}"
    maxpool: 2
  - when: "${pool in ['avg', 'mean']}"
    avgpool: 2
  - repeat: "${len(widths[size])}"
    layers: [{conv: {filters: "${widths[size][i] * units}", kernel: 1}}]
  - when: "${mode != 'b'}"
    flatten: {}
  - when: "${free == 'hello' and len(free) > 1}"
    dense: 2
"""


def test_choices_come_from_comparisons_table_keys_and_the_declared_default():
    data = loads(FILE)
    choices = derived_choices(data)
    assert choices["pool"] == ["avg", "max", "mean"]
    assert choices["size"] == ["large", "small"]  # the keys of the table it indexes
    assert choices["mode"] == ["a", "b"]  # compared with 'b', default 'a' (the else branch)
    assert "units" not in choices and "free" not in choices  # used as free values: anything goes


def test_a_value_outside_the_choices_is_refused_where_it_was_given(write, analyse_text):
    with pytest.raises(SpecError, match="must be one of 'avg', 'max', 'mean', got 'maxx'") as err:
        analyse_text(FILE, pool="maxx")
    assert err.value.path == "params.pool" and "did you mean 'max'" in err.value.hint
    child = write("extends: m.yaml\nname: y\nparams: {size: medium}\n", "child.yaml")
    write(FILE, "m.yaml")
    from kzoo.graph import analyse

    with pytest.raises(SpecError, match="'large', 'small', got 'medium'") as err:
        analyse(child)
    assert err.value.file == str(child) and err.value.line == 3  # the typo's own line


def test_declared_choices_win_and_true_is_not_one(analyse_text):
    text = FILE.replace("params:", "choices: {free: [hello, world]}\nparams:")
    with pytest.raises(SpecError, match="'hello', 'world'"):
        analyse_text(text, free="bye")
    assert is_allowed(1, [1, 2]) and not is_allowed(True, [1, 2]) and not is_allowed("1", [1]) and is_allowed(1.0, [1])


def test_every_zoo_architecture_passes_its_own_choices():
    from kzoo.graph import analyse
    from kzoo.zoo import find, list_architectures

    for name in list_architectures():
        analyse(find(name))  # the defaults are always allowed
