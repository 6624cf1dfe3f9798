"""dance.config is a leaf: importing it loads no algorithm package, and nobody reaches inside it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dance", "actors", "ray_jobs", "tests", "benchmarks")


def _loaded_after_import(module: str) -> list[str]:
    """Modules in sys.modules after importing `module` in a fresh interpreter."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.split()


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement in a file (relative imports resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_importing_dance_config_loads_no_algorithm_package_and_no_torch() -> None:
    loaded = _loaded_after_import("dance.config")
    assert not [m for m in loaded if m.startswith(("dance.synth", "dance.pose", "torch"))]


def test_importing_dance_config_loads_only_itself_and_the_error_family() -> None:
    loaded = _loaded_after_import("dance.config")
    dance_modules = {m for m in loaded if m.startswith("dance.")}
    assert {m for m in dance_modules if not m.startswith("dance.config")} == {"dance.errors"}
    assert not [m for m in loaded if m.startswith(("pyarrow", "numpy", "ray"))]


def test_no_module_outside_dance_config_imports_its_private_modules() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "dance" / "config"):
                continue
            private = [n for n in _imported_modules(path) if n.startswith("dance.config._")]
            offenders.extend(f"{path.relative_to(ROOT)}: {name}" for name in sorted(private))
    assert offenders == []
