"""What the Slack listeners may do, as plain callables the API layer provides (the seam for tests too).

All of them are synchronous (database work); listeners call them with ``asyncio.to_thread`` so the event
loop never blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.figures.friction.categorise import Taxonomy
from service.ingest.inbox import Accepted, Delivery


@dataclass(frozen=True, slots=True)
class SlackPorts:
    taxonomy: Taxonomy
    admins: frozenset[str]
    file: Callable[[Delivery], Accepted]
    """Write a report to the inbox (and wake the workers)."""
    services: Callable[[], list[str]]
    reports_of: Callable[[str], Sequence[Any]]
    """A Slack user's open reports."""
    themes: Callable[[], Sequence[Any]]
    triage: Callable[..., Any]
    """``triage(report_id, category=…, status=…, resolution_note=…, duplicate_of=…)`` → TriageResult."""
    add_detail: Callable[..., Any]
    """``add_detail(report_id, reporter=…, service=…, minutes_lost=…, impact=…, frequency=…)``."""
    later: Callable[[str, str], None]
    """``later(user_id, text)``: keep a DM Slack could not take now in the outbox; a worker sends it."""
    pulse_member: Callable[[str], Any]
    """The user's pulse membership (``PulseMember``) or None."""
    pulse_join: Callable[..., Any]
    """``pulse_join(user_id, opted_in=…, anonymous=…, service=…)``: opt in or out, or change the choices."""
    pulse_answer: Callable[..., Any]
    """``pulse_answer(user_id, week=…, bucket=…, about=…)``: store an answer (InvalidInput if not asked)."""
