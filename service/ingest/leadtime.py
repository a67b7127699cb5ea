"""Which commits first shipped in which production deployment, from push and pull-request data alone.

A production deployment of sha S in repository R ships every commit pushed to R's default branch up to
S (in push order) that no earlier production deployment of the service shipped. A pull request's own
commits (pushed to its branch; on squash and rebase merges they never reach the default branch) ship
with its merge commit, and they — not the merge commit — carry the lead time. Pairs that must not
count are kept with the reason: ``first_deployment`` (a service's first production deployment has no
predecessor, so it would absorb months of history), ``bot`` (automated authors), ``merge_commit``.

A deployment's own ``commits`` list (the generic form) is taken at its word, then judged by the same rules
(:func:`judge_pairs`): a commit counts once, for the first *successful* production deployment that shipped
it — a failed or non-production deployment listing it is ``not_shipped``, a later one ``already_shipped`` —
and not for a service's first production deployment. A deployment whose sha no pushed commit has, but a
generic ``change`` event named, ships that change.
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
    """A successful production deployment has the commit already (a failed one listing it did not ship it)."""
    return exists().where(
        col(DeploymentChange.change_id) == col(Change.id),
        col(DeploymentChange.deployment_id) == col(Deployment.id),
        col(Deployment.environment).in_(rules.production_environments),
        col(Deployment.status) == DeploymentStatus.SUCCESS,
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
        _link_named_change(session, deployment, rules)  # a change event naming the sha, if one came
        return
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


def _link_named_change(session: Session, deployment: Deployment, rules: LeadTimeRules) -> None:
    """The deployed commit was not pushed to us; a generic ``change`` event may still have named it (docs/
    webhooks.md: "for lead time when deployments do not list their commits"). Else no commits are known."""
    named = session.exec(
        select(Change).where(
            Change.repository == deployment.repository,
            Change.sha == deployment.sha,
            Change.service == deployment.service,
            ~_already_shipped(rules),  # type: ignore[operator]
        )
    ).first()
    if named is not None:
        first = _is_first_deployment(session, deployment, rules)
        _insert_pairs(session, [_pair(deployment, named, rules, first, merge_commit=False)])


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
            "opened_at": m.opened_at,
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


KEPT_REASONS = ("bot", "merge_commit")
"""Reasons a pair carries for what the commit is, whichever deployment shipped it."""


def judge_pairs(session: Session, change_ids: Iterable[int], rules: LeadTimeRules) -> None:
    """Re-judge every (deployment, commit) pair of these commits, whatever order the events came in: the
    commit counts for the first successful production deployment that shipped it (``not_shipped`` for a
    failed or non-production one, ``already_shipped`` for a later one), never for a service's first
    production deployment (``first_deployment``); ``bot`` and ``merge_commit`` stay."""
    ids = set(change_ids)
    if not ids:
        return
    # a service's first deployment may be new: what was judged first_deployment before is judged again
    services = select(Change.service).where(any_of(session, col(Change.id), sorted(ids)))
    ids |= set(
        session.exec(
            select(DeploymentChange.change_id)
            .join(Deployment, col(Deployment.id) == col(DeploymentChange.deployment_id))
            .where(DeploymentChange.excluded == "first_deployment", col(Deployment.service).in_(services))
        )
    )
    rows = session.exec(
        select(DeploymentChange, Deployment)
        .join(Deployment, col(Deployment.id) == col(DeploymentChange.deployment_id))
        .where(any_of(session, col(DeploymentChange.change_id), sorted(ids)))
    ).all()
    firsts = _first_deployments(session, {d.service for _, d in rows}, rules)
    by_change: dict[int, list[tuple[DeploymentChange, Deployment]]] = {}
    for pair, deployment in rows:
        by_change.setdefault(pair.change_id, []).append((pair, deployment))
    for pairs in by_change.values():
        for pair, reason in _judged(pairs, firsts, rules):
            if pair.excluded != reason:
                pair.excluded = reason
                session.add(pair)


def _shipped_by(deployment: Deployment, rules: LeadTimeRules) -> bool:
    return deployment.status == DeploymentStatus.SUCCESS and deployment.environment in rules.production_environments


def _judged(
    pairs: list[tuple[DeploymentChange, Deployment]], firsts: dict[str, int], rules: LeadTimeRules
) -> list[tuple[DeploymentChange, str | None]]:
    """One commit's pairs with the reason each does not count (None: the one that counts)."""
    shipping = sorted(
        ((d.finished_at, d.id or 0, pair) for pair, d in pairs if _shipped_by(d, rules) and d.finished_at),
        key=lambda item: (item[0], item[1]),
    )
    first_pair = shipping[0][2] if shipping else None
    judged: list[tuple[DeploymentChange, str | None]] = []
    for pair, deployment in pairs:
        kept = pair.excluded if pair.excluded in KEPT_REASONS else None
        if not _shipped_by(deployment, rules):
            judged.append((pair, "not_shipped"))
        elif pair is not first_pair:
            judged.append((pair, "already_shipped"))
        elif firsts.get(deployment.service) == deployment.id:
            judged.append((pair, "first_deployment"))
        else:
            judged.append((pair, kept))
    return judged


def _first_deployments(session: Session, services: set[str], rules: LeadTimeRules) -> dict[str, int]:
    """Each service's first successful production deployment (by finish time)."""
    found: dict[str, int] = {}
    for service in sorted(services):
        first = session.exec(
            select(Deployment.id)
            .where(
                Deployment.service == service,
                col(Deployment.environment).in_(rules.production_environments),
                Deployment.status == DeploymentStatus.SUCCESS,
                col(Deployment.finished_at).is_not(None),
            )
            .order_by(col(Deployment.finished_at), col(Deployment.id))
        ).first()
        if first is not None:
            found[service] = first
    return found
