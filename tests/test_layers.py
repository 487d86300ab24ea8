"""The shape of the house: no module imports one that imports it back (no file circle), and the
layer contract's exceptions name settings modules only (no wildcard that would let behaviour
through). import-linter (``make lint``) checks the contracts themselves."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("assistant", "retrieval", "connectors", "guardrails", "evals", "ui", "configs")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_module_imports_one_that_imports_it_back():
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PRODUCT, "fitting", include_external_packages=False)
    assert import_cycles(graph) == []


def test_the_layer_contract_excepts_named_settings_modules_only():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    exceptions = [rule for c in contracts for rule in c.get("ignore_imports", [])]
    assert exceptions, "the configuration root's imports of the stages' settings are named"
    for rule in exceptions:
        importer, _, imported = (part.strip() for part in rule.partition("->"))
        assert "*" not in rule, rule
        assert importer == "configs.settings" and imported.endswith(".settings"), rule


def test_the_circle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.cli", "p.index_cli"), ("p.index_cli", "p.cli"), ("p.cli", "p.errors")]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == [["p.cli", "p.index_cli"]]
