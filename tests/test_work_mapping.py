"""The work mapping file: what it decides, and that a wrong file is refused with the place named."""

from __future__ import annotations

import pytest

from service.core.errors import InvalidInput
from service.figures.work.mapping import load_mapping, parse_mapping


def test_the_built_in_mapping_decides_kinds_statuses_and_services() -> None:
    mapping = load_mapping()
    assert mapping.kind(issue_type="Story", labels=["bug"], project="SUP") == "feature"  # issue type first
    assert mapping.kind(issue_type=None, labels=["x", "Infra-Support"], project=None) == "support"
    assert mapping.kind(issue_type=None, labels=[], project="sup") == "support"
    assert mapping.kind(issue_type="Chore", labels=[], project=None) == "task"
    assert mapping.status(name="Won't Do", category="done") == "cancelled"  # a named status beats its category
    assert mapping.status(name="Code Review", category="indeterminate") == "in_progress"
    assert mapping.status(name="Whatever", type_="started") == "in_progress"
    assert mapping.status(name="Whatever") is None
    assert mapping.service(labels=["team:x", "service:ml-api"]) == "ml-api"


def test_incident_rules_keep_their_evidence_and_a_tie_is_unknown() -> None:
    mapping = parse_mapping(
        "incidents:\n  teams: {SRE: infrastructure}\n  rules:\n"
        "    infrastructure: [disk, dns]\n    application: [exception, checkout fails]\n"
    )
    assert mapping.incident_category(explicit=None, title="Disk full, DNS flapping") == (
        "infrastructure",
        "rule",
        ("disk", "dns"),
    )
    category, how, evidence = mapping.incident_category(explicit=None, title="disk exception")
    assert (category, how, set(evidence)) == ("unknown", "rule", {"infrastructure: disk", "application: exception"})
    assert mapping.incident_category(explicit=None, teams=["sre"], title="exception") == (
        "infrastructure",
        "team_map",
        ("team sre",),
    )
    assert mapping.incident_category(explicit="Application", title="disk") == (
        "application",
        "explicit",
        ("category=application",),
    )
    assert mapping.incident_category(explicit=None, title="diskette") == ("unknown", None, ())  # whole words


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("kinds:\n  labels: {x: epic}\n", "kinds.labels"),
        ("statuses:\n  names: {x: started}\n", "statuses.names"),
        ("incidents:\n  rules: {network: [dns]}\n", "rules"),
        ("kinds:\n  default: chore\n", "kinds"),
    ],
)
def test_a_wrong_mapping_is_refused_naming_the_place(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_mapping(text)
    assert raised.value.field == field
