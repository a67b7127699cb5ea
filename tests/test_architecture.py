"""Structure the project promises: every package stands in a layer (import-linter enforces the order), no
two files or sibling packages import each other, and compose runs real commands."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click
import grimp
import yaml
from radon.complexity import cc_visit

from service.app.cli import main

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "workers", "integrations")


def _layer_names(contract: dict[str, object]) -> set[str]:
    layers = contract["layers"]
    assert isinstance(layers, list)
    return {name.strip() for layer in layers for name in str(layer).split("|")}


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_every_package_of_service_stands_in_a_layer() -> None:
    outer = next(c for c in _contracts() if "containers" not in c)
    present = {f"service.{path.name}" for path in (ROOT / "service").iterdir() if (path / "__init__.py").exists()} | {
        "workers",
        "integrations",
    }

    assert _layer_names(outer) == present
    assert not [p.name for p in (ROOT / "service").glob("*.py") if p.name != "__init__.py"], "modules belong in a layer"


def test_the_inner_contracts_are_exhaustive() -> None:
    inner = [c for c in _contracts() if "containers" in c]

    assert {str(c["containers"][0]) for c in inner} == {"service.app", "service.figures", "service.core"}  # type: ignore[index]
    assert all(c.get("exhaustive") is True for c in inner)


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, include_external_packages=False)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
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
                    found.append(sorted(component))
    return found


def test_no_two_files_import_each_other_even_through_others() -> None:
    graph = _graph()
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}

    assert _cycles(edges) == []


def test_no_two_sibling_packages_import_each_other() -> None:
    graph = _graph()
    packages = {m for m in graph.modules if graph.find_children(m)}
    # The three roots are not siblings of one layer: workers and integrations sit between service's own
    # layers (the first contract), so only packages inside the roots are checked here.
    for package in packages:
        children = graph.find_children(package)
        edges: dict[str, set[str]] = {child: set() for child in children}
        for child in children:
            for module in {child} | graph.find_descendants(child):
                for imported in graph.find_modules_directly_imported_by(module):
                    for other in children - {child}:
                        if imported == other or imported.startswith(other + "."):
                            edges[child].add(other)
        assert _cycles(edges) == [], package


MOST_COMPLEX = 20
"""Radon's rank C ends here: a function above it is split into named steps (docs/architecture.md)."""


def _too_complex(source: str, name: str) -> list[str]:
    return [
        f"{name}:{block.lineno} {block.fullname} {block.complexity}"
        for block in cc_visit(source)
        if block.complexity > MOST_COMPLEX
    ]


WRITTEN = (*PACKAGES, "tests", "bench")
"""Every folder of Python we write: the product, its tests and its benches."""


def test_no_function_we_write_is_above_rank_c() -> None:
    files = [p for folder in WRITTEN for p in (ROOT / folder).rglob("*.py")]  # Alembic versions included
    too_complex = [line for path in files for line in _too_complex(path.read_text(), str(path.relative_to(ROOT)))]

    assert len(files) > 250
    assert too_complex == []


def test_the_complexity_check_sees_a_tangled_function() -> None:
    branches = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(MOST_COMPLEX + 1))
    assert _too_complex(f"def tangled(x):\n{branches}    return -1\n", "f.py") == [f"f.py:1 tangled {MOST_COMPLEX + 2}"]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _subcommand_exists(words: list[str]) -> bool:
    command: click.Command = main
    for word in words:
        if word.startswith("-"):
            break
        if not isinstance(command, click.Group) or word not in command.commands:
            return False
        command = command.commands[word]
    return True


def test_every_compose_service_of_ours_runs_a_real_frictionlog_subcommand() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ours = {name: spec for name, spec in compose["services"].items() if spec.get("image") == "frictionlog:latest"}

    assert set(ours) == {"migrate", "api", "worker", "beat"}
    for name, spec in ours.items():
        command = spec["command"]
        assert command[0] == "frictionlog", name
        assert _subcommand_exists(command[1:]), f"{name}: {command}"
        assert spec["environment"]["FRICTIONLOG_BROKER_URL"].startswith("redis://")


def test_compose_runs_redis_durably_and_postgres_with_healthchecks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    redis_command = compose["services"]["redis"]["command"]

    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"
    for name in ("redis", "postgres", "api"):
        assert "healthcheck" in compose["services"][name], name
    assert "postgres" in compose["volumes"]


def test_env_example_lists_every_setting() -> None:
    from service.core.settings import Settings

    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"FRICTIONLOG_{name.upper()}=" in text, name
