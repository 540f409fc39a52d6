"""Every package lontar imports is declared in pyproject.toml, and constraints-min.txt pins every floor."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")

# Import names whose distribution is named otherwise, for packages a CI venv may lack (extras).
DIST_OF = {"yaml": "pyyaml", "lingua": "lingua-language-detector", "para": "paraencoder", "ray": "ray",
           "mistral_common": "mistral-common", "lm_eval": "lm-eval", "deepspeed": "deepspeed", "wandb": "wandb",
           "mlflow": "mlflow-skinny", "tensorboard": "tensorboard"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def third_party_imports() -> dict[str, str]:
    """Top-level module -> one file importing it, over every module of the package."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "lontar").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "lontar":
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


def distribution_of(module: str) -> str:
    installed = importlib.metadata.packages_distributions().get(module)
    return norm(installed[0] if installed else DIST_OF.get(module, module))


def test_every_third_party_import_is_declared():
    names = {norm(r.name) for reqs in declared().values() for r in reqs}
    imports = third_party_imports()
    assert {"numpy", "scipy", "torch", "transformers"} <= set(imports)  # the scan sees the package
    missing = {m: f for m, f in imports.items() if distribution_of(m) not in names}
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_dependency_has_a_floor_and_no_unexplained_exact_pin():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for group, reqs in declared().items():
        for r in reqs:
            assert any(s.operator in (">=", "==") for s in r.specifier), f"{group}: {r} has no floor"
            if any(s.operator == "==" for s in r.specifier):
                line = next(x for x in text.splitlines() if str(r.name) in x and "==" in x)
                assert "#" in line, f"{r}: an exact pin needs its reason in a comment"


def test_constraints_min_pins_every_floor():
    pins: dict[str, str] = {}
    for line in (REPO / "constraints-min.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints-min.txt: {line!r} is not name==version"
            pins[norm(name)] = version.strip()
    floors: dict[str, str] = {}
    for reqs in declared().values():
        for r in reqs:
            floor = next(s.version for s in r.specifier if s.operator in (">=", "=="))
            assert floors.setdefault(norm(r.name), floor) == floor, f"{r.name}: two different floors"
    assert set(pins) == set(floors), {"not pinned": set(floors) - set(pins), "not declared": set(pins) - set(floors)}
    from packaging.version import Version

    for name, floor in floors.items():
        assert Version(pins[name]) == Version(floor), f"constraints-min.txt pins {name}=={pins[name]}, the floor is {floor}"
