"""``frictionlog sessions revoke``: end web sessions server-side (a signed-in user's everywhere, or all),
e.g. after a laptop is lost or a Slack admin leaves; their cookies stop working on the next request."""

from __future__ import annotations

import click

from service.app.cli.session import cli_session
from service.core.settings import get_settings


@click.group("sessions")
def sessions() -> None:
    """Web sessions (the pages' sign-ins)."""


@sessions.command("revoke")
@click.option("--subject", default=None, help="token:<id> or slack:<user id>: every session of that sign-in")
@click.option("--all", "everyone", is_flag=True, help="Every session there is: everyone signs in again")
def revoke(subject: str | None, everyone: bool) -> None:
    """Sign a user out everywhere (--subject), or everyone (--all)."""
    from service.app.web import session_store

    if (subject is None) == (not everyone):
        raise click.UsageError("give --subject or --all (one of them)")
    with cli_session():  # the schema is up to date (embedded mode migrates the file)
        pass
    ended = session_store.revoke(get_settings(), subject=subject)
    click.echo(f"ended {ended} session{'s' if ended != 1 else ''}")
