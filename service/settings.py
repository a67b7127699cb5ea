"""The one settings object. Read through :func:`get_settings`; nothing reads the environment at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Configuration from ``FRICTIONLOG_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="FRICTIONLOG_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/frictionlog.db"
    broker_url: str | None = None
    """Unset means embedded mode: the worker and the scheduler run inside the API process."""
    timezone: str = "UTC"
    """Weeks are ISO weeks in this IANA time zone; storage is always UTC."""
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    spool_dir: Path = Path("./var/spool")
    """Where accepted requests are appended (fsync'd) while the database cannot commit."""

    production_environments: Annotated[list[str], NoDecode] = ["production", "prod"]
    """Environment names whose deployments count in the metrics; others are kept but not counted."""
    incident_link_window_hours: float = Field(default=24.0, ge=0)
    """Link an incident to the service's last production deploy this long before it; 0 turns it off."""

    min_sample: int = Field(default=5, ge=1)
    """A figure computed from fewer samples than this says ``low_sample`` and gets no band."""
    bot_authors: Annotated[list[str], NoDecode] = ["dependabot[bot]", "renovate[bot]"]
    """Commit authors (GitHub logins or names) whose changes are excluded from lead time."""

    taxonomy_path: Path | None = None
    """A friction taxonomy YAML replacing the built-in one (service/friction/taxonomy.yaml)."""

    ingest_batch_size: int = Field(default=500, gt=0, le=5000)
    """How many inbox rows a worker claims in one transaction."""
    ingest_max_attempts: int = Field(default=5, gt=0)
    """Attempts before an event that keeps failing is left ``failed`` for ``frictionlog replay``."""
    ingest_retry_base_seconds: float = Field(default=2.0, ge=0)
    sweep_after_seconds: int = Field(default=60, gt=0)
    """Rows pending longer than this are re-enqueued by the sweeper (Celery beat)."""
    sweep_interval_seconds: float = Field(default=60.0, gt=0)
    """How often beat runs the sweeper: the longest a lost wake-up can delay processing, beyond the above."""
    wake_interval_seconds: float = Field(default=0.05, ge=0)
    """Wake-ups of the workers are coalesced to at most one per interval per API process."""
    token_cache_seconds: float = Field(default=5.0, ge=0)
    """How long a verified API token is trusted without a database read (revocation delay)."""

    workflow_environments: dict[str, str] = {}
    """JSON: GitHub workflow / GitLab pipeline name → environment, e.g. {"Deploy": "production"}.
    Completed runs of a mapped workflow on the default branch count as deployments."""
    incident_label: str = "incident"
    """GitHub issues carrying this label (case-insensitive) are incidents."""
    service_aliases: dict[str, str] = {}
    """JSON: outside name (owner/repo, GitLab project path, PagerDuty service name or id) → service slug."""
    monorepo_paths: dict[str, str] = {}
    """JSON: "owner/repo:path/prefix" → service slug, for repositories that hold several services."""
    github_allow_sha1_signature: bool = False
    """Accept the legacy X-Hub-Signature (SHA-1) of old GitHub Enterprise servers when the SHA-256 one is absent."""

    digest_audiences: dict[str, str] = {"leaders": ""}
    """JSON: audience → Slack channel id. ``leaders`` sees every service, ``team:<name>`` that team's.
    An empty channel: the digest is built and kept (HTML, JSON) but not posted."""
    digest_day: str = "mon"
    digest_hour: int = Field(default=9, ge=0, le=23)
    """The digest for the week just ended goes out on this day and hour, in FRICTIONLOG_TIMEZONE."""
    quote_min_reporters: int = Field(default=3, ge=1)
    """The digest quotes a report only from a team with at least this many reporters that week."""

    github_webhook_secret: SecretStr | None = None
    gitlab_webhook_token: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    opsgenie_webhook_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    """Slack's Web API base URL (a proxy, or a local stand-in in tests)."""
    slack_triage_channel: str | None = None
    """Channel id where new friction reports are posted with triage buttons; unset: not posted."""
    slack_admins: Annotated[list[str], NoDecode] = []
    """Slack user ids allowed to triage (comma-separated)."""

    public_url: str = "http://127.0.0.1:8000"
    """Where people reach the web app (scheme, host, optional path prefix); links in Slack are built from it.
    An https URL also marks the session cookie Secure."""
    session_secret: SecretStr | None = None
    """Signs the web app's session cookies. Unset: a random key per process (sessions end at a restart, and
    several API replicas need one shared value)."""
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    """A web session ends this long after sign-in."""
    slack_client_id: str | None = None
    """The Slack app's client id for "Sign in with Slack" (OpenID Connect); unset: token sign-in only."""
    slack_client_secret: SecretStr | None = None
    slack_oidc_url: str = "https://slack.com"
    """Base of Slack's OpenID Connect endpoints (/openid/connect/authorize, /api/openid.connect.token,
    /api/openid.connect.userInfo): a local stand-in in tests."""
    slack_team_id: str | None = None
    """Only members of this Slack workspace may sign in with Slack (recommended); unset: any workspace
    the Slack app is installed in."""

    @field_validator("production_environments", "bot_authors", "slack_admins", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator(
        "broker_url",
        "taxonomy_path",
        "slack_triage_channel",
        "slack_client_id",
        "slack_team_id",
        "session_secret",
        "slack_client_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
