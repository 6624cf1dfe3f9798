"""Layering rules, checked on the source: who may import what.

- No module imports another package's private module. A private module is a dotted path
  with a component starting with ``_`` (dunder names such as ``__init__`` are not private);
  it belongs to the package that holds it, and only modules of that package (or of its
  subpackages) may import it. Other packages use the names the owner exposes in its
  ``__init__``.
- The library ``dance`` never imports ``ray``, ``actors`` or ``ray_jobs``, at module level
  or inside a function, except its CLI entry layer ``dance/cli/``, which starts the jobs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SCANNED_FOLDERS = ("dance", "actors", "ray_jobs", "benchmarks")
JOB_LAYERS = ("ray", "actors", "ray_jobs")
CLI_PACKAGE = "dance.cli"


@dataclass(frozen=True)
class SourceModule:
    """One .py file: its path, its dotted name, and the package it belongs to."""

    path: Path
    name: str
    package: str


def _source_modules(root: Path, folders: tuple[str, ...]) -> list[SourceModule]:
    """Every .py file under the given top-level folders, with its dotted name and package."""
    modules = []
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
                package = ".".join(parts)
            else:
                package = ".".join(parts[:-1])
            modules.append(SourceModule(path, ".".join(parts), package))
    return modules


def _is_module_file(root: Path, dotted: str) -> bool:
    """True if the dotted name is a module or a package under `root`."""
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imported_modules(root: Path, module: SourceModule) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every import in the file, wherever it sits.

    ``from package import name`` also yields ``package.name`` when that is a module file,
    so importing a private submodule by name is seen as well.
    """
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative: level 1 is the module's own package, each further dot one up.
                anchor = module.package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                if _is_module_file(root, f"{base}.{alias.name}"):
                    yield node.lineno, f"{base}.{alias.name}"


def private_owner(dotted: str) -> str | None:
    """The package holding the first private component of a dotted path; None if public."""
    parts = dotted.split(".")
    for index, part in enumerate(parts):
        is_dunder = part.startswith("__") and part.endswith("__")
        if part.startswith("_") and not is_dunder:
            return ".".join(parts[:index])
    return None


def inside(package: str, owner: str) -> bool:
    """True if `package` is `owner` or one of its subpackages."""
    return package == owner or package.startswith(owner + ".")


def private_import_violations(root: Path, folders: tuple[str, ...]) -> list[str]:
    """'path:line imports module (private to owner)' for each cross-package private import."""
    violations = set()
    for module in _source_modules(root, folders):
        for line, imported in _imported_modules(root, module):
            owner = private_owner(imported)
            if owner is not None and not inside(module.package, owner):
                where = module.path.relative_to(root).as_posix()
                violations.add(f"{where}:{line} imports {imported} (private to {owner})")
    return sorted(violations)


def job_layer_violations(root: Path) -> list[str]:
    """'path:line imports module' for each import of ray, actors or ray_jobs in dance/."""
    violations = set()
    for module in _source_modules(root, ("dance",)):
        if inside(module.package, CLI_PACKAGE):
            continue
        for line, imported in _imported_modules(root, module):
            if imported.split(".")[0] in JOB_LAYERS:
                where = module.path.relative_to(root).as_posix()
                violations.add(f"{where}:{line} imports {imported}")
    return sorted(violations)


def _write(root: Path, relative: str, text: str = "") -> None:
    """Write one source file of a throwaway tree, creating its folders."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --- the rules, on this repository -----------------------------------------------------


def test_no_module_imports_another_packages_private_module() -> None:
    violations = private_import_violations(REPO_ROOT, SCANNED_FOLDERS)
    assert not violations, "\n".join(violations)


def test_the_library_does_not_import_ray_or_the_job_layers_outside_the_cli() -> None:
    violations = job_layer_violations(REPO_ROOT)
    assert not violations, "\n".join(violations)


# --- what the scanner counts ---------------------------------------------------------


def test_a_private_module_belongs_to_the_package_holding_it() -> None:
    assert private_owner("dance.pose._vitpose") == "dance.pose"
    assert private_owner("dance._closing") == "dance"
    assert private_owner("dance.config._base.x") == "dance.config"


def test_public_paths_and_dunder_modules_are_not_private() -> None:
    assert private_owner("dance.pose.estimator") is None
    assert private_owner("dance.__main__") is None


def test_a_package_and_its_subpackages_may_use_its_private_modules(tmp_path: Path) -> None:
    _write(tmp_path, "lib/a/__init__.py", "from lib.a._impl import x\n")
    _write(tmp_path, "lib/a/_impl.py", "x = 1\n")
    _write(tmp_path, "lib/a/sub/user.py", "from lib.a._impl import x\nfrom .._impl import x\n")
    assert private_import_violations(tmp_path, ("lib",)) == []


def test_another_package_may_not_import_a_private_module(tmp_path: Path) -> None:
    _write(tmp_path, "lib/a/__init__.py")
    _write(tmp_path, "lib/a/_impl.py", "x = 1\n")
    _write(tmp_path, "lib/b/__init__.py")
    _write(tmp_path, "lib/b/user.py", "from lib.a._impl import x\n")
    assert private_import_violations(tmp_path, ("lib",)) == [
        "lib/b/user.py:1 imports lib.a._impl (private to lib.a)"
    ]


def test_a_private_module_imported_by_name_or_relatively_is_seen(tmp_path: Path) -> None:
    _write(tmp_path, "lib/a/__init__.py")
    _write(tmp_path, "lib/a/_impl.py")
    _write(tmp_path, "lib/b/__init__.py")
    _write(tmp_path, "lib/b/user.py", "from lib.a import _impl\nfrom ..a._impl import x\n")
    assert private_import_violations(tmp_path, ("lib",)) == [
        "lib/b/user.py:1 imports lib.a._impl (private to lib.a)",
        "lib/b/user.py:2 imports lib.a._impl (private to lib.a)",
    ]


def test_an_import_of_ray_inside_a_library_function_is_a_violation(tmp_path: Path) -> None:
    _write(tmp_path, "dance/__init__.py")
    _write(tmp_path, "dance/jobs.py", "def start():\n    import ray.data\n")
    assert job_layer_violations(tmp_path) == ["dance/jobs.py:2 imports ray.data"]


def test_the_cli_may_import_the_job_layers(tmp_path: Path) -> None:
    _write(tmp_path, "dance/__init__.py")
    _write(tmp_path, "dance/cli/__init__.py", "from ray_jobs import preprocess\n")
    _write(tmp_path, "dance/cli/run.py", "import actors\n")
    assert job_layer_violations(tmp_path) == []
