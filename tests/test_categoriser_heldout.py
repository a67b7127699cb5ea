"""The friction categoriser on reports written apart from its rules (issue 25 #13): a floor on the held-out
set, and configuration complaints that name deploying land in config_complexity, not deploy_release."""

from __future__ import annotations

import pytest

from bench.categoriser import DATA, DEV, HELD_OUT, per_category, read
from service.figures.friction.categorise import categorise, load_taxonomy

TAXONOMY = load_taxonomy()
FLOOR = 0.85
"""The project's goal for the rules alone (before any correction), as for the labelled set."""


def test_the_held_out_set_is_large_varied_and_apart_from_the_tuning_sets() -> None:
    held_out = read(HELD_OUT)
    categories = {str(r["category"]) for r in held_out}
    assert len(held_out) >= 60
    assert categories == set(TAXONOMY.ids())
    assert min(sum(r["category"] == c for r in held_out) for c in categories) >= 4
    tuning = {str(r["text"]).lower() for r in read(DEV) + read(DATA)}
    assert not {str(r["text"]).lower() for r in held_out} & tuning


def test_held_out_accuracy_is_at_least_the_floor_and_every_category_is_found() -> None:
    held_out = read(HELD_OUT)
    right, scores = per_category(held_out, TAXONOMY)
    assert right / len(held_out) >= FLOOR, f"{right}/{len(held_out)}"
    assert all(s.right > 0 for s in scores), [s.category for s in scores if s.right == 0]


@pytest.mark.parametrize(
    "text",
    [
        "Configuration complexity requiring platform engineers for basic deployments",  # the article's symptom
        "Editing Helm values and two override files just to deploy a new worker is way too much",
        "I have to write YAML overrides for every environment just to deploy",
        "We need new Terraform variables in the infra repo just to deploy a service",
        "Deploying anything means a helm values change reviewed by the platform team",
    ],
)
def test_configuration_needed_to_deploy_is_configuration_complexity(text: str) -> None:
    assert categorise(text, TAXONOMY).category == "config_complexity"


@pytest.mark.parametrize(
    "text",
    [
        "The deploy to production failed halfway and we had to roll back by hand",
        "Helm upgrade hangs during the rollout of checkout and the release is stuck",
        "Our canary promotion to prod is a manual step nobody remembers",
    ],
)
def test_deploying_itself_stays_deploy_release(text: str) -> None:
    assert categorise(text, TAXONOMY).category == "deploy_release"
