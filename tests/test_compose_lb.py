"""docker-compose: a load balancer in front of the API replicas, so ``--scale api=N`` has no port clash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def parse_caddyfile(text: str) -> list[Any]:
    """The Caddyfile as nested [tokens, children] blocks (enough of its grammar to check ours)."""
    root: list[Any] = []
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
            continue
        opens = line.endswith("{")
        tokens = line.rstrip("{").split()
        node: list[Any] = [tokens, []]
        stack[-1].append(node)
        if opens:
            stack.append(node[1])
    assert len(stack) == 1, "unbalanced braces"
    return root


def find(block: list[Any], *path: str) -> list[Any]:
    for tokens, children in block:
        if tokens and tokens[0] == path[0]:
            return children if len(path) == 1 else find(children, *path[1:])
    raise AssertionError(f"no {path[0]!r} in {[t for t, _ in block]}")


def test_the_api_replicas_publish_no_port_and_the_load_balancer_does() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    api, lb = compose["services"]["api"], compose["services"]["lb"]
    assert "ports" not in api  # a fixed host port would clash with a second replica
    assert api["expose"] == ["8000"]
    assert lb["image"].startswith("caddy:")
    assert lb["ports"] == ["8000:8000"]
    assert lb["depends_on"]["api"]["condition"] == "service_healthy"
    mount = next(v for v in lb["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro"))
    assert (ROOT / mount.split(":", 1)[0]).is_file()


def test_the_caddyfile_balances_over_every_replica_the_api_name_resolves_to() -> None:
    site = find(parse_caddyfile((ROOT / "deploy" / "Caddyfile").read_text()), ":8000")
    proxy = find(site, "reverse_proxy")
    dynamic = {tokens[0]: tokens[1:] for tokens, _ in find(proxy, "dynamic")}
    assert [t for t, _ in proxy if t[0] == "dynamic"] == [["dynamic", "a"]]  # DNS A records: one per replica
    assert dynamic == {"name": ["api"], "port": ["8000"], "refresh": ["5s"]}
    options = {tokens[0]: tokens[1:] for tokens, _ in proxy}
    assert options["lb_policy"] == ["least_conn"]
    # A down replica is retried elsewhere within the senders' timeouts (PagerDuty waits 5 s).
    assert options["lb_try_duration"] == ["5s"]
    assert "fail_duration" in options
