"""The safe YAML loader: marks, refusals and YAML 1.1 surprises."""

from __future__ import annotations

import pytest

from kzoo.errors import SpecError
from kzoo.lang.loader import YMap, YSeq, load_file, loads, mark_of


def test_marks_of_keys_values_and_items():
    data = loads("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert isinstance(data, YMap) and isinstance(data["b"], YSeq)
    assert (mark_of(data, "b", of_key=True).line, mark_of(data, "b", of_key=True).col) == (2, 1)
    assert (mark_of(data["b"], 1).line, mark_of(data["b"], 1).col) == (4, 5)
    assert mark_of(data["b"][1], "c").file == "f.yaml"


def test_yaml12_exponent_floats_are_numbers_but_quoted_ones_stay_strings():
    data = loads("a: 1e-4\nb: '1e-4'\nc: 2.5E+3\n")
    assert data["a"] == 1e-4 and data["b"] == "1e-4" and data["c"] == 2500.0


def test_python_tags_are_refused():
    with pytest.raises(SpecError, match="tag 'tag:yaml.org,2002:python/object/apply:os.system'") as e:
        loads("a: !!python/object/apply:os.system ['echo hi']\n", "f.yaml")
    assert e.value.line == 1 and e.value.col == 4


def test_custom_tags_are_refused():
    with pytest.raises(SpecError, match="not allowed"):
        loads("a: !thing 3\n")


def test_duplicate_keys_are_refused():
    with pytest.raises(SpecError, match="duplicate key 'a'") as e:
        loads("a: 1\nb: 2\na: 3\n")
    assert e.value.line == 3 and "line 1" in e.value.hint


def test_yaml11_boolean_keys_need_quotes():
    with pytest.raises(SpecError, match="read by YAML 1.1 as the boolean") as e:
        loads("on: 1\n")
    assert "quote it" in e.value.hint


def test_alias_bomb_is_refused_quickly():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        bomb += f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]\n"
    with pytest.raises(SpecError, match="alias bomb|expands to more than"):
        loads(bomb)


def test_recursive_alias_is_refused():
    with pytest.raises(SpecError):
        loads("a: &a [*a]\n")


def test_yaml_merge_keys_work():
    data = loads("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n")
    assert dict(data["d"]) == {"x": 1, "y": 3}


def test_syntax_errors_have_line_and_column():
    with pytest.raises(SpecError, match="invalid YAML") as e:
        loads("a: [1, 2\nb: 3\n", "bad.yaml")
    assert e.value.file == "bad.yaml" and e.value.line == 2


def test_several_documents_are_refused():
    with pytest.raises(SpecError, match="more than one YAML document"):
        loads("a: 1\n---\nb: 2\n")


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_file(tmp_path / "nope.yaml")
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SpecError, match="not UTF-8"):
        load_file(bad)
