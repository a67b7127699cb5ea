"""The "changed after the start" notes a leader reads: metrics by their labels, fields and vocabulary as
words, moments as days, names (a platform) exactly as given; the note's ``subject`` keeps the key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from service.digest.migration import change_notes

AT = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
LABELS = {"deploys": "Deploys per week", "lead_time": "Lead time"}


def change(
    subject: str, action: str, before: Mapping[str, object] | None, after: Mapping[str, object] | None
) -> dict[str, object]:
    return {
        "subject": subject,
        "action": action,
        "before": before,
        "after": after,
        "changed_by": "api:lead",
        "changed_at": AT,
        "after_start": True,
    }


def test_an_updated_criterion_reads_as_words() -> None:
    before = {"metric": "lead_time", "direction": "at_most", "kind": "relative", "target": -0.5, "deadline": None}
    after = {**before, "direction": "at_least", "target": -0.3, "deadline": "2027-03-01T00:00:00+00:00"}
    [note] = change_notes((change("lead_time", "updated", before, after),), LABELS)
    assert note.sentence == (
        "Lead time: direction at most → at least, target -50% → -30%, deadline not set → 2027-03-01"
        " — by api:lead on 2026-12-07."
    )
    assert note.subject == "lead_time"


def test_the_migrations_own_fields_keep_names_as_given() -> None:
    before = {"to_platform": "k8s_gpu", "started_at": "2026-09-07T00:00:00+00:00", "design": None}
    after = {"to_platform": "ai_platform", "started_at": "2026-10-05T00:00:00+00:00", "design": {"base_weeks": 4}}
    [note] = change_notes((change("migration", "updated", before, after),), LABELS)
    assert note.sentence == (
        "Migration: to platform k8s_gpu → ai_platform, started at 2026-09-07 → 2026-10-05,"
        " design not set → (base weeks 4) — by api:lead on 2026-12-07."
    )


def test_a_removed_criterion_and_an_unknown_metric_are_still_named() -> None:
    removed = change("deploys", "deleted", {"metric": "deploys", "target": 1.0}, None)
    added = change("queue_depth", "created", None, {"metric": "queue_depth"})
    notes = change_notes((removed, added), LABELS)
    assert notes[0].sentence.startswith("Queue depth: set on 2026-12-07 by api:lead, after the migration had started")
    assert notes[1].sentence == "Deploys per week: removed — by api:lead on 2026-12-07."
