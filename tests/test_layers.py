"""The architecture, checked: the core (bot/) imports no plugin (handlers/, schedules/), and no module imports
itself back through others — every import counts, lazy ones inside functions and TYPE_CHECKING ones too."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "schedules")
PLUGINS = ("handlers", "schedules")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "data" in path.relative_to(ROOT).parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules this module imports; `from bot import cases` names the module bot.cases."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    # Keep project modules only; an imported package's __init__ counts as the package itself.
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(path, name, set(mods)) for name, path in mods.items()}


def test_the_core_imports_no_plugin():
    offenders = sorted(f"{name} → {dep}" for name, deps in graph().items() if name.split(".")[0] == "bot"
                       for dep in deps if dep.split(".")[0] in PLUGINS)
    assert offenders == []


def test_no_import_cycles():
    edges = graph()
    # A package's __init__ importing its own submodules (a registry) is not a cycle through the code.
    edges = {name: {d for d in deps if not (d.startswith(name + ".") )} for name, deps in edges.items()}
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(edges[node]):
            if state.get(dep) == "open":
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"
    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], " ; ".join(" → ".join(c) for c in cycles)


def test_the_walker_sees_lazy_and_relative_imports(tmp_path):
    # The checks above are only as good as the walker: it must see an import inside a function.
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from handlers import commands\n", encoding="utf-8")
    assert imports(path, "bot.m", {"handlers", "handlers.commands", "bot.m"}) == {"handlers", "handlers.commands"}
