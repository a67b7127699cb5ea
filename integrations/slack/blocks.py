"""Block Kit for every Slack surface, as pure functions (data in, JSON-ready dicts out).

Limits kept: ≤ 3000 characters per text object, ≤ 100 options per select, ≤ 50 blocks a message.
User text enters mrkdwn only through ``integrations.slack.mrkdwn`` (escaped; see that module): the
section and context helpers here escape whatever is not already ``Mrkdwn``. ``plain_text`` objects are
not parsed for mentions or links by Slack, so they carry text as typed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from integrations.slack import mrkdwn as md
from integrations.slack.mrkdwn import Mrkdwn, code, escape, fmt, quote, user_mention
from service.core.identity import services_in_text
from service.core.words import plural
from service.figures.friction.categorise import Categorisation, Taxonomy

TEXT_LIMIT = 3000
FRICTION_MODAL = "friction_modal"
CATEGORY_ACTION = "friction_category"
DETAIL_ACTION = "friction_add_detail"
TRIAGE_ACK = "triage_acknowledge"
TRIAGE_RESOLVE = "triage_resolve"
TRIAGE_WONT_FIX = "triage_wont_fix"
TRIAGE_DUPLICATE = "triage_duplicate"
TRIAGE_CATEGORY = "triage_category"
RESOLVE_MODAL = "triage_resolve_modal"
DUPLICATE_MODAL = "triage_duplicate_modal"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: Mrkdwn, limit: int = TEXT_LIMIT) -> Mrkdwn:
    """Text for a mrkdwn field or a message's ``text`` fallback: escaped unless already ``Mrkdwn``, clipped."""
    return md.clip(escape(text), limit)


def mrkdwn(text: Mrkdwn) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": safe(text)}}


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def context(text: Mrkdwn) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": safe(text)}]}


def category_options(taxonomy: Taxonomy) -> list[dict[str, Any]]:
    return [{"text": plain(taxonomy.title(cid)), "value": cid} for cid in taxonomy.ids()][:100]


def filed_reply(number: int, verdict: Categorisation, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """The ephemeral answer to ``/friction <text>``: the number, the category and why, and buttons."""
    n, w = number, md.join(", ", (fmt("“{}”", term) for term in verdict.evidence[:5])) or "no strong terms matched"
    return [
        mrkdwn(fmt(":white_check_mark: Filed as friction *#{}* — thank you. We'll tell you when it's resolved.", n)),
        context(fmt("Category: *{}* ({} sure; {})", taxonomy.title(verdict.category), f"{verdict.confidence:.0%}", w)),
        {
            "type": "actions",
            "block_id": f"report:{number}",
            "elements": [
                {
                    "type": "static_select",
                    "action_id": CATEGORY_ACTION,
                    "placeholder": plain("Change category"),
                    "options": category_options(taxonomy),
                },
                {"type": "button", "action_id": DETAIL_ACTION, "text": plain("Add detail"), "value": str(number)},
            ],
        },
    ]


HELP = Mrkdwn(
    "*Report friction* — anything that slows you down on the platform.\n"
    "• `/friction cold starts take 40 s on ml-api` files it at once\n"
    "• `/friction` opens a form (service, minutes lost, how often, anonymous)\n"
    "• `/friction list` shows your open reports\n"
    "• On any message: *⋯ → Report as friction*\n"
    "You hear back here when a report is resolved."
)


def report_list(reports: Sequence[Any], taxonomy: Taxonomy) -> list[dict[str, Any]]:
    if not reports:
        return [mrkdwn(Mrkdwn("You have no open friction reports. :tada:"))]
    lines = [
        fmt("• *#{}* {} — _{}_, {}", r.id, clip(r.text, 120), taxonomy.title(r.category), r.status)
        for r in reports[:20]
    ]
    return [mrkdwn(fmt("*Your open friction reports*\n{}", md.join("\n", lines)))]


def friction_modal(
    *, text: str = "", services: Sequence[str] = (), metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The form: what happened, service, impact (minutes and 1–6), how often, blocking now, anonymous. With
    a text (a message shortcut), the service picker starts on the one service the text names, if it names one."""
    service_element: dict[str, Any] = {"type": "plain_text_input", "action_id": "service"}
    if services:
        options = [{"text": plain(name), "value": name} for name in services[:100]]
        named = services_in_text(text, {name: name for name in services[:100]}) if text else []
        service_element = {
            "type": "static_select",
            "action_id": "service",
            "placeholder": plain("Pick a service"),
            "options": options,
            **({"initial_option": next(o for o in options if o["value"] == named[0])} if len(named) == 1 else {}),
        }
    return {
        "type": "modal",
        "callback_id": FRICTION_MODAL,
        "private_metadata": json.dumps(metadata or {})[:3000],
        "title": plain("Report friction", 24),
        "submit": plain("File it", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "what",
                "label": plain("What happened?"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "min_length": 3,
                    "max_length": 3000,
                    **({"initial_value": clip(text)} if text else {}),
                },
            },
            {
                "type": "input",
                "block_id": "service",
                "optional": True,
                "label": plain("Service"),
                "element": service_element,
            },
            {
                "type": "input",
                "block_id": "minutes",
                "optional": True,
                "label": plain("Minutes lost"),
                "element": {
                    "type": "number_input",
                    "action_id": "minutes",
                    "is_decimal_allowed": False,
                    "min_value": "0",
                },
            },
            {
                "type": "input",
                "block_id": "impact",
                "optional": True,
                "label": plain("Impact (1 = annoying, 6 = blocks all work)"),
                "element": {
                    "type": "static_select",
                    "action_id": "impact",
                    "options": [{"text": plain(str(n)), "value": str(n)} for n in range(1, 7)],
                },
            },
            {
                "type": "input",
                "block_id": "frequency",
                "optional": True,
                "label": plain("How often"),
                "element": {
                    "type": "static_select",
                    "action_id": "frequency",
                    "options": [{"text": plain(f), "value": f} for f in ("once", "weekly", "daily")],
                },
            },
            {
                "type": "input",
                "block_id": "flags",
                "optional": True,
                "label": plain("Also"),
                "element": {
                    "type": "checkboxes",
                    "action_id": "flags",
                    "options": [
                        {"text": plain("It is blocking me right now"), "value": "blocking"},
                        {"text": plain("File anonymously (your name is not stored)"), "value": "anonymous"},
                    ],
                },
            },
        ],
    }


def triage_message(report: Any, taxonomy: Taxonomy) -> list[dict[str, Any]]:
    """A new report in the triage channel, with the leads' buttons."""
    facts = [fmt("*{}* ({}, {})", taxonomy.title(report.category), report.category_source, f"{report.confidence:.0%}")]
    if report.service:
        facts.append(fmt("service {}", code(report.service)))
    if report.minutes_lost:
        facts.append(fmt("{} min lost", report.minutes_lost))
    return [
        mrkdwn(fmt("*Friction #{}* from {}\n{}", report.id, reporter_label(report), quote(clip(report.text, 2800)))),
        context(md.join(" · ", facts)),
        {
            "type": "actions",
            "block_id": f"triage:{report.id}",
            "elements": [
                {"type": "button", "action_id": TRIAGE_ACK, "text": plain("Acknowledge"), "value": str(report.id)},
                {
                    "type": "button",
                    "action_id": TRIAGE_RESOLVE,
                    "text": plain("Resolve"),
                    "value": str(report.id),
                    "style": "primary",
                },
                {"type": "button", "action_id": TRIAGE_WONT_FIX, "text": plain("Won't fix"), "value": str(report.id)},
                {
                    "type": "button",
                    "action_id": TRIAGE_DUPLICATE,
                    "text": plain("Duplicate of…"),
                    "value": str(report.id),
                },
                {
                    "type": "static_select",
                    "action_id": TRIAGE_CATEGORY,
                    "placeholder": plain("Recategorise"),
                    "options": category_options(taxonomy),
                },
            ],
        },
    ]


def resolve_modal(report_id: int, status: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": RESOLVE_MODAL,
        "private_metadata": json.dumps({"report": report_id, "status": status}),
        "title": plain("Resolve" if status == "resolved" else "Won't fix", 24),
        "submit": plain("Save", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": plain("What was done (the reporter sees this)"),
                "element": {"type": "plain_text_input", "action_id": "note", "multiline": True, "max_length": 3000},
            }
        ],
    }


def duplicate_modal(report_id: int) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DUPLICATE_MODAL,
        "private_metadata": json.dumps({"report": report_id}),
        "title": plain("Duplicate of", 24),
        "submit": plain("Save", 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "original",
                "label": plain("The original report's number"),
                "element": {
                    "type": "number_input",
                    "action_id": "original",
                    "is_decimal_allowed": False,
                    "min_value": "1",
                },
            }
        ],
    }


def reporter_label(report: Any) -> Mrkdwn:
    """A live mention only for a Slack user id Slack itself sent; an API contact is shown escaped, as text."""
    mention = user_mention(report.reporter)
    if mention is not None:
        return mention
    contact = getattr(report, "contact", None)
    if contact:
        return fmt("{} (via the API)", clip(contact, 64))
    return Mrkdwn("someone (anonymous)")


def triage_text(report: Any) -> Mrkdwn:
    """The triage post's ``text`` fallback (notifications and screen readers show it): escaped too."""
    return fmt("Friction #{}: {}", report.id, clip(report.text, 200))


def resolution_dm(report: Any) -> tuple[Mrkdwn, list[dict[str, Any]]]:
    """The reporter's DM when a report is closed; only a resolution is celebrated."""
    if report.status == "resolved":
        text, icon = fmt("Your friction report #{} was resolved.", report.id), ":tada:"
        label = "*What was done:*"
    else:
        text, icon = fmt("Your friction report #{} was closed as won't fix.", report.id), ":information_source:"
        label = "*Why:*"
    blocks = [mrkdwn(fmt("{} {}\n{}", Mrkdwn(icon), text, quote(clip(report.text, 1500))))]
    if report.resolution_note:
        blocks.append(mrkdwn(fmt("{} {}", Mrkdwn(label), clip(report.resolution_note, 2500))))
    return text, blocks


def home_view(reports: Sequence[Any], themes: Sequence[Any], taxonomy: Taxonomy) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": plain("Frictionlog", 150)}]
    if reports:
        lines = [fmt("• *#{}* {} — _{}_", r.id, clip(r.text, 100), r.status) for r in reports[:15]]
        blocks.append(mrkdwn(fmt("*Your reports*\n{}", md.join("\n", lines))))
    else:
        blocks.append(mrkdwn(Mrkdwn("*Your reports*\nNone yet. Type `/friction` anywhere to report something.")))
    blocks.append({"type": "divider"})
    if themes:
        lines = [
            fmt(
                "• *{}*{}: {}, {} — “{}”",
                taxonomy.title(t.category),
                fmt(" on {}", code(t.service)) if t.service else Mrkdwn(""),
                plural(t.reports, "report"),
                plural(t.votes, "vote"),
                clip(t.example, 90),
            )
            for t in themes[:8]
        ]
        blocks.append(mrkdwn(fmt("*Top friction themes this week*\n{}", md.join("\n", lines))))
    else:
        blocks.append(mrkdwn(Mrkdwn("*Top friction themes this week*\nNothing reported this week.")))
    return {"type": "home", "blocks": blocks[:50]}
