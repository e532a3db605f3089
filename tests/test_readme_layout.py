"""README's Layout section names the code as it is: every top-level module and package of kzoo, and every module
it names exists (a rename that forgets the README fails here)."""

from __future__ import annotations

import re

from conftest import ROOT

KZOO = ROOT / "kzoo"


def _layout() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Layout")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_top_level_module_and_package_is_named():
    layout = _layout()
    modules = {p.name for p in KZOO.glob("*.py") if p.name != "__main__.py"}
    packages = {p.name + "/" for p in KZOO.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    missing = sorted(m for m in modules | packages if m not in layout)
    assert not missing, f"README's Layout does not name {missing}"


def test_every_module_it_names_exists():
    layout = _layout().split("```text", 2)[1]  # the package's block (the next one is the repository's folders)
    named = set(re.findall(r"\b([a-z_]+\.py)\b", layout))
    existing = {p.name for p in KZOO.rglob("*.py")}
    assert named and not sorted(named - existing), sorted(named - existing)
