"""Which commits first shipped in which production deployment, from push and pull-request data alone.

A production deployment of sha S in repository R ships every commit pushed to R's default branch up to
S (in push order) that no earlier production deployment of the service shipped. A pull request's own
commits (pushed to its branch; on squash and rebase merges they never reach the default branch) ship
with its merge commit, and they — not the merge commit — carry the lead time. Pairs that must not
count are kept with the reason: ``first_deployment`` (a service's first production deployment has no
predecessor, so it would absorb months of history), ``bot`` (automated authors), ``merge_commit``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, update
from sqlmodel import Session, col, select

from service.core.db import any_of, upsert_insert
from service.core.models import Change, Deployment, DeploymentChange, PullRequest
from service.core.records import PUSH_ORDER_STRIDE, PullRequestRecord
from service.core.vocab import DeploymentStatus


@dataclass(frozen=True, slots=True)
class LeadTimeRules:
    production_environments: frozenset[str]
    bot_authors: frozenset[str]


def _already_shipped(rules: LeadTimeRules) -> object:
    return exists().where(
        col(DeploymentChange.change_id) == col(Change.id),
        col(DeploymentChange.deployment_id) == col(Deployment.id),
        col(Deployment.environment).in_(rules.production_environments),
    )


def link_pushed_changes(session: Session, deployment_ids: Iterable[int], rules: LeadTimeRules) -> None:
    """Link each successful production deployment to the commits it first shipped (idempotent).

    One query finds the deployments that need it (successful, production, with a sha and a repository,
    and no commits linked yet — a resend or an explicit commit list needs nothing)."""
    ids = list(deployment_ids)
    if not ids:
        return
    linked = select(DeploymentChange.deployment_id).where(col(DeploymentChange.deployment_id) == col(Deployment.id))
    eligible = session.exec(
        select(Deployment).where(
            any_of(session, col(Deployment.id), ids),
            Deployment.status == DeploymentStatus.SUCCESS,
            col(Deployment.environment).in_(rules.production_environments),
            col(Deployment.sha).is_not(None),
            col(Deployment.repository).is_not(None),
            col(Deployment.finished_at).is_not(None),
            ~linked.exists(),
        )
    ).all()
    for deployment in eligible:
        _link(session, deployment, rules)


def _link(session: Session, deployment: Deployment, rules: LeadTimeRules) -> None:
    anchor = session.exec(
        select(Change.push_order)
        .where(
            Change.repository == deployment.repository,
            Change.sha == deployment.sha,
            col(Change.on_default_branch).is_(True),
        )
        .order_by(col(Change.push_order))
    ).first()
    if anchor is None:
        return  # the deployed commit was never pushed to us: no commits known ("deployments with no commits")
    shipped = list(
        session.exec(
            select(Change).where(
                Change.repository == deployment.repository,
                Change.service == deployment.service,
                col(Change.on_default_branch).is_(True),
                col(Change.push_order) <= anchor,
                ~_already_shipped(rules),  # type: ignore[operator]
            )
        )
    )
    branch_commits = _pull_request_commits(session, deployment, [c.sha for c in shipped], rules)
    landing = _landing_copies(shipped, branch_commits)
    first = _is_first_deployment(session, deployment, rules)
    rows = [
        _pair(deployment, change, rules, first, merge_commit=change.sha in landing)
        for change in [*shipped, *branch_commits]
    ]
    _insert_pairs(session, rows)


def _landing_copies(shipped: list[Change], branch_commits: list[Change]) -> set[str]:
    """The default-branch commits that stand for a pull request whose own commits are counted instead.

    A merge lands as one push. Squash: the squash commit. Rebase: every rebased copy in that push up to
    the merge sha (new shas, so they are not the branch commits). Merge commit: the merge commit (the
    branch commits keep their shas and are counted as themselves).
    """
    own = {c.sha for c in branch_commits}
    merges = {c.merged_into for c in branch_commits if c.merged_into}
    landing: set[str] = set()
    for merge in (c for c in shipped if c.sha in merges and c.push_order is not None):
        assert merge.push_order is not None
        push = merge.push_order // PUSH_ORDER_STRIDE
        landing |= {
            c.sha
            for c in shipped
            if c.push_order is not None
            and c.push_order // PUSH_ORDER_STRIDE == push
            and c.push_order <= merge.push_order
            and c.sha not in own
        }
    return landing


def _pull_request_commits(
    session: Session, deployment: Deployment, merge_shas: list[str], rules: LeadTimeRules
) -> list[Change]:
    if not merge_shas:
        return []
    return list(
        session.exec(
            select(Change).where(
                Change.repository == deployment.repository,
                col(Change.merged_into).in_(merge_shas),
                ~_already_shipped(rules),  # type: ignore[operator]
            )
        )
    )


def _is_first_deployment(session: Session, deployment: Deployment, rules: LeadTimeRules) -> bool:
    assert deployment.finished_at is not None
    earlier = session.exec(
        select(Deployment.id).where(
            Deployment.service == deployment.service,
            col(Deployment.environment).in_(rules.production_environments),
            Deployment.status == DeploymentStatus.SUCCESS,
            col(Deployment.finished_at) < deployment.finished_at,
        )
    ).first()
    return earlier is None


def _pair(
    deployment: Deployment, change: Change, rules: LeadTimeRules, first: bool, *, merge_commit: bool
) -> dict[str, object]:
    reason = None
    if first:
        reason = "first_deployment"
    elif merge_commit:
        reason = "merge_commit"
    elif change.author and change.author in rules.bot_authors:
        reason = "bot"
    return {"deployment_id": deployment.id, "change_id": change.id, "excluded": reason}


def _insert_pairs(session: Session, rows: list[dict[str, object]]) -> None:
    if rows:
        session.connection().execute(upsert_insert(session, DeploymentChange).on_conflict_do_nothing(), rows)


def apply_pull_requests(session: Session, merges: list[PullRequestRecord], rules: LeadTimeRules) -> None:
    """Record merges and attach each pull request's branch commits to its merge commit.

    If the merge commit already shipped (the deployment event came first), the branch commits join
    that deployment now, so the result does not depend on the order events arrived in.
    """
    rows = [
        {
            "repository": m.repository,
            "number": m.number,
            "head_branch": m.head_branch,
            "merge_commit_sha": m.merge_commit_sha,
            "merged_at": m.merged_at,
        }
        for m in merges
    ]
    if rows:
        statement = upsert_insert(session, PullRequest).on_conflict_do_nothing(index_elements=["repository", "number"])
        session.connection().execute(statement, rows)
    for merge in merges:
        session.exec(
            update(Change)
            .where(
                col(Change.repository) == merge.repository,
                col(Change.branch) == merge.head_branch,
                col(Change.on_default_branch).is_(False),
                col(Change.merged_into).is_(None),
            )
            .values(merged_into=merge.merge_commit_sha, pr_number=merge.number, merged_at=merge.merged_at)
        )
        _join_shipped_merge(session, merge, rules)


def _join_shipped_merge(session: Session, merge: PullRequestRecord, rules: LeadTimeRules) -> None:
    shipped = session.exec(
        select(DeploymentChange, Deployment)
        .join(Change, col(Change.id) == col(DeploymentChange.change_id))
        .join(Deployment, col(Deployment.id) == col(DeploymentChange.deployment_id))
        .where(Change.repository == merge.repository, Change.sha == merge.merge_commit_sha)
    ).all()
    for pair, deployment in shipped:
        branch_commits = _pull_request_commits(session, deployment, [merge.merge_commit_sha], rules)
        if not branch_commits:
            continue
        first = pair.excluded == "first_deployment"
        _insert_pairs(session, [_pair(deployment, c, rules, first, merge_commit=False) for c in branch_commits])
        if pair.excluded is None:
            pair.excluded = "merge_commit"
