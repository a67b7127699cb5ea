"""Structure the project promises: the layer contract covers every core module; compose runs real commands."""

from __future__ import annotations

import tomllib
from pathlib import Path

import click
import yaml

from service.cli import main

ROOT = Path(__file__).resolve().parent.parent
OUTER = {"api", "web", "cli"}


def test_the_forbidden_contract_lists_every_core_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    core_contract = next(c for c in contracts if c["type"] == "forbidden")
    listed = {name.removeprefix("service.") for name in core_contract["source_modules"]}
    present = {
        path.stem if path.is_file() else path.name
        for path in (ROOT / "service").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()
    }

    assert present - OUTER == listed


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
    from service.settings import Settings

    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"FRICTIONLOG_{name.upper()}=" in text, name
