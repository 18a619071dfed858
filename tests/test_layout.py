"""The README's layout section matches the tree, and every package says what it owns.

A newcomer finds where a change goes from that section; a module added or moved without it
being updated would send them to the wrong place.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "graphlinker"


def _layout_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def _packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py") if "__pycache__" not in p.parts)


def test_every_package_and_module_is_in_the_layout():
    block = _layout_block()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", block))
    missing_packages = [p.name for p in _packages() if p != PACKAGE and f"{p.name}/" not in block]
    missing_modules = sorted(
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
        if "__pycache__" not in p.parts and not p.stem.startswith("__") and p.stem not in words
    )
    assert not missing_packages, f"packages missing from the README's layout: {missing_packages}"
    assert not missing_modules, f"modules missing from the README's layout: {missing_modules}"


def test_the_layout_names_nothing_that_is_gone():
    block = _layout_block()
    named = set(re.findall(r"\b([a-z_]+)\.py\b", block))
    present = {p.stem for folder in (PACKAGE, ROOT / "bench", ROOT / "tests") for p in folder.rglob("*.py")}
    assert named <= present, f"the layout names modules that do not exist: {sorted(named - present)}"
    for folder in re.findall(r"^  ([a-z_]+)/", block, flags=re.M):
        assert (PACKAGE / folder / "__init__.py").exists(), folder


def test_every_package_says_what_it_owns():
    for package in _packages():
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert doc and len(doc.split()) >= 5, f"{package.relative_to(ROOT)}/__init__.py has no docstring saying what it owns"
