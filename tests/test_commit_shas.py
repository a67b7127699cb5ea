"""A commit sha is one spelling whoever sends it: the canonical records lower-case it when they are built, so
``ABC123…`` from one sender and ``abc123…`` from another are one commit (one row, one lead time), and no
parser has to remember to do it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from service.core.records import (
    ChangeRecord,
    CommitRef,
    DeploymentRecord,
    IncidentRecord,
    PullRequestRecord,
    WorkItemReferenceRecord,
)

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def deployment(sha: str | None = None) -> DeploymentRecord:
    return DeploymentRecord(
        source="generic",
        external_id="d1",
        service="api",
        environment="production",
        status="success",
        finished_at=AT,
        sha=sha,
    )


def incident(sha: str | None = None) -> IncidentRecord:
    return IncidentRecord(
        source="generic", external_id="i1", service="api", status="triggered", started_at=AT, commit_sha=sha
    )


UPPER = "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567"
LOWER = UPPER.lower()


@pytest.mark.parametrize(
    ("build", "read"),
    [
        (lambda sha: CommitRef(sha=sha, committed_at=AT), lambda r: r.sha),
        (lambda sha: ChangeRecord(sha=sha, repository="acme/api", committed_at=AT), lambda r: r.sha),
        (
            lambda sha: PullRequestRecord(
                repository="acme/api", number=7, head_branch="PAY-12-fix", merge_commit_sha=sha, merged_at=AT
            ),
            lambda r: r.merge_commit_sha,
        ),
        (deployment, lambda r: r.sha),
        (incident, lambda r: r.commit_sha),
        (
            lambda sha: WorkItemReferenceRecord(key="PAY-12", kind="commit", repository="acme/api", ref=sha),
            lambda r: r.ref,
        ),
    ],
    ids=["commit_ref", "change", "pull_request", "deployment", "incident", "commit_reference"],
)
def test_every_record_that_names_a_commit_stores_its_sha_lower_case(
    build: Callable[[str], Any], read: Callable[[Any], str | None]
) -> None:
    assert read(build(UPPER)) == LOWER
    assert read(build(LOWER)) == LOWER
    assert build(UPPER) == build(LOWER)


def test_an_absent_sha_stays_absent_and_other_references_keep_their_case() -> None:
    assert (deployment().sha, incident().commit_sha) == (None, None)
    branch = WorkItemReferenceRecord(key="PAY-12", kind="branch", repository="acme/api", ref="PAY-12-Fix-Login")
    assert branch.ref == "PAY-12-Fix-Login"  # a branch name is case-sensitive


def test_an_empty_sha_is_no_sha() -> None:
    """A CI variable left unset sends ``""``: stored as none, it can never overwrite a sha an earlier
    delivery of the same deployment gave (a later delivery's null keeps the earlier value)."""
    assert (deployment("").sha, incident("").commit_sha) == (None, None)
