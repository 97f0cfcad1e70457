"""The house rules of the code: imports flow one way, every module imports on its own, and
``plugin/`` keeps one room per area (see the README's map)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("adapters", "rules", "webhooks", "admin", "plugin", "migrations")
# the only flat modules plugin/ keeps: entry point and what every area shares
PLUGIN_MODULES = {
    *("__init__", "app", "config", "db", "errors", "runtime", "models", "states"),
    *("appends", "keys"),  # how a batch writes in bulk
    "extension",  # the entry point for a host's Flask app, beside app.py
}
ENTRY_POINTS = ("plugin.app", "plugin.cli", "plugin.api", "plugin.extension")


def modules(package: str) -> list[str]:
    names = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imports_of(module: str) -> set[str]:
    """The project modules ``module`` imports, anywhere in its body, as absolute names."""
    path = ROOT / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PROJECT}


def under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_every_module_imports_on_its_own():
    """Import each module first in a clean interpreter state: an import cycle fails here."""
    names = [
        m
        for package in PROJECT
        for m in modules(package)
        if not under(m, ["migrations.versions", "migrations.env"])
    ]
    script = (
        "import importlib, sys\n"
        f"project = {PROJECT!r}\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] in project]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *names], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("package", ["adapters", "rules"])
def test_adapters_and_rules_import_nothing_else_of_the_project(package):
    for module in modules(package):
        strays = {name for name in imports_of(module) if not under(name, [package])}
        assert not strays, f"{module} imports {strays}"


def test_rules_know_no_flask_and_no_database():
    for module in modules("rules"):
        path = ROOT / Path(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not {n for n in names if under(n, ["flask", "sqlalchemy", "redis", "rq"])}, module


def test_only_the_entry_points_wire_in_webhooks_and_admin():
    for module in modules("plugin"):
        if under(module, ENTRY_POINTS):
            continue
        strays = {name for name in imports_of(module) if under(name, ["webhooks", "admin", *ENTRY_POINTS])}
        assert not strays, f"{module} imports {strays}"


def test_webhooks_and_admin_use_the_domain_not_the_entry_points():
    for module in modules("webhooks") + modules("admin"):
        strays = {name for name in imports_of(module) if under(name, ENTRY_POINTS)}
        assert not strays, f"{module} imports {strays}"


def test_plugin_keeps_one_sub_package_per_area():
    flat = {p.stem for p in (ROOT / "plugin").glob("*.py")}
    assert flat <= PLUGIN_MODULES, f"new flat modules in plugin/: {flat - PLUGIN_MODULES}"
    for area in (p for p in (ROOT / "plugin").iterdir() if p.is_dir() and p.name != "__pycache__"):
        if area.name == "samples":
            continue
        assert (area / "__init__.py").exists(), f"plugin/{area.name} is not a package"


def test_the_model_collector_is_read_by_the_metadata_users_only():
    users = {m for package in PROJECT for m in modules(package) if "plugin.models" in imports_of(m)}
    assert users == {"migrations.env"}


def test_the_cli_commands_do_not_import_their_group_back():
    for module in modules("plugin"):
        if module.startswith("plugin.cli."):
            assert "plugin.cli" not in imports_of(module), module


def test_no_import_cycle_even_through_lazy_or_type_only_imports():
    """An import inside a function or under TYPE_CHECKING still makes two rooms lean on each
    other; the module graph must have no cycle at all."""
    names = {m for package in PROJECT for m in modules(package)}
    graph = {m: {d for d in imports_of(m) if d in names and d != m} for m in names}
    visiting, done, cycles = set(), set(), []

    def visit(module, path):
        visiting.add(module)
        for dep in sorted(graph[module]):
            if dep in visiting:
                cycles.append(path[path.index(dep) :] + [dep])
            elif dep not in done:
                visit(dep, [*path, dep])
        visiting.discard(module)
        done.add(module)

    for module in sorted(names):
        if module not in done:
            visit(module, [module])
    assert cycles == []
