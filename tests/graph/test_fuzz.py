"""Property: however a valid file is mangled, the result is a model or a SpecError.

Never another exception, never a hang (each example has a deadline).
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from kzoo.errors import SpecError
from kzoo.graph import analyse

BASES = {
    name: (ROOT / "architectures" / name).read_text()
    for name in ("lenet5.yaml", "googlenet.yaml", "families/resnet.yaml", "families/vgg.yaml")
}
TOKENS = [
    "0",
    "-1",
    "999999",
    "1e9",
    "2.5",
    "off",
    "yes",
    "null",
    "true",
    "[]",
    "{}",
    "''",
    "${1/0}",
    "$nope",
    "${depth * 10**9}",
    "${widths}",
    "conv",
    "dense",
    "repeat",
    "parallel",
    "merge",
    "when",
    "from",
    "name",
    "input",
    "&a",
    "*a",
    "!!python/object:os.system",
    "'",
    '"',
    "::",
    "- ",
    "[",
    "{",
    "${",
    "$",
    "<<: *a",
    "layers",
    "blocks",
    "defaults",
    "heads",
    "add",
    "concat",
    "bottleneck",
    "inception",
    "relu",
]
WORD = re.compile(r"[A-Za-z_$][\w${}+*.]*|\d+")


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(BASES)))
    lines = BASES[name].splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "token", "insert", "indent"]))
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "token":
            words = list(WORD.finditer(lines[i]))
            if words:
                m = draw(st.sampled_from(words))
                lines[i] = lines[i][: m.start()] + draw(st.sampled_from(TOKENS)) + lines[i][m.end() :]
        elif kind == "insert":
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(st.text(alphabet=":-[]{}&*!|>'\"#$% ,\t\\", max_size=3)) + lines[i][pos:]
        else:
            lines[i] = draw(st.sampled_from(["", "  ", "    "])) + lines[i].lstrip()
    return "\n".join(lines) + "\n"


@settings(
    max_examples=400, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(text=mutated())
def test_mutated_files_give_a_model_or_a_spec_error(tmp_path, text):
    path = tmp_path / "mutant.yaml"
    path.write_text(text)
    try:
        graph = analyse(path)
    except SpecError as exc:
        assert exc.file is not None and exc.line is not None, exc
    else:
        assert graph.nodes and graph.totals()["params"] >= 0
