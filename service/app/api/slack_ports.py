"""The Slack listeners' ports: inbox writes that wake the workers, catalogue and report reads, triage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from integrations.slack.ports import SlackPorts
from service.app.api.triage import apply_triage
from service.core.db import session_scope
from service.core.models import SlackMessage
from service.core.settings import Settings
from service.core.timeutil import utcnow
from service.core.vocab import OPEN
from service.figures import catalogue
from service.figures.friction import reports, themes, triage
from service.figures.friction.categorise import Taxonomy
from service.figures.pulse import service as pulse
from service.ingest import inbox
from service.ingest.inbox import Accepted, Delivery
from workers.enqueue import Waker
from workers.names import NOTIFY_TASK


def build_ports(settings: Settings, taxonomy: Taxonomy, waker: Waker) -> SlackPorts:
    url = settings.database_url

    def file(delivery: Delivery) -> Accepted:
        with session_scope(url, write=True) as session:
            accepted = inbox.accept(session, [delivery])[0]
        if not accepted.duplicate:
            waker.wake()
        return accepted

    def services() -> list[str]:
        with session_scope(url) as session:
            return [service.slug for service in catalogue.list_services(session)]

    def reports_of(user: str) -> Sequence[Any]:
        with session_scope(url) as session:
            return [r for r in reports.list_reports(session, reporter=user, limit=50) if r.status in OPEN]

    def week_themes() -> Sequence[Any]:
        with session_scope(url) as session:
            frame = reports.theme_frame(session, since=utcnow() - timedelta(days=7))
        return themes.group(frame)

    def change(report_id: int, **changes: Any) -> triage.TriageResult:
        with session_scope(url, write=True) as session:
            return apply_triage(session, report_id, taxonomy=taxonomy, waker=waker, **changes)

    def add_detail(report_id: int, **details: Any) -> Any:
        with session_scope(url, write=True) as session:
            return triage.add_detail(session, report_id, **details)

    def later(user: str, text: str) -> None:
        with session_scope(url, write=True) as session:
            session.add(SlackMessage(channel=user, text=text))
            session.commit()
        waker.wake(NOTIFY_TASK)

    key = (settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else "").encode()

    def pulse_member(user: str) -> Any:
        with session_scope(url) as session:
            return pulse.member(session, user)

    def pulse_join(user: str, **choice: Any) -> Any:
        with session_scope(url, write=True) as session:
            return pulse.set_membership(session, user, **choice)

    def pulse_answer(user: str, **answer: Any) -> Any:
        with session_scope(url, write=True) as session:
            return pulse.record_answer(session, user, key=key, **answer)

    return SlackPorts(
        taxonomy=taxonomy,
        admins=frozenset(settings.slack_admins),
        file=file,
        services=services,
        reports_of=reports_of,
        themes=week_themes,
        triage=change,
        add_detail=add_detail,
        later=later,
        pulse_member=pulse_member,
        pulse_join=pulse_join,
        pulse_answer=pulse_answer,
    )
