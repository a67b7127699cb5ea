"""The one settings object. Read through :func:`get_settings`; nothing reads the environment at import."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _empty_is_unset(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_csv)]
"""A list the environment gives comma-separated (``a, b``), not as JSON."""
_EMPTY_IS_UNSET = BeforeValidator(_empty_is_unset)
OptionalStr = Annotated[str | None, _EMPTY_IS_UNSET]
"""An optional setting that an empty (or blank) environment variable leaves unset."""
OptionalPath = Annotated[Path | None, _EMPTY_IS_UNSET]


GPU_LINE_PATTERNS = (
    r"\b(?:p|gr?)\d+[a-z]*\.\d*x?large\b",  # AWS GPU instance types: p3/p4d/p5, g4dn/g5/g6, gr6 (SageMaker ml.* too)
    r"\b(?:standard_)?n[cdv]\d+[a-z]*(?![a-z0-9])",  # Azure NC, ND and NV series (Standard_NC6s_v3, "NC24ads A100 v4")
    r"\b(?:a2|a3|g2)-[a-z]+-\d+",  # Google Cloud GPU machine types (a2-highgpu-1g, g2-standard-4)
    r"\bgpu",  # any SKU, meter or shape naming a GPU: GCP accelerator SKUs, OCI VM.GPU/BM.GPU shapes
)
"""The default of ``gpu_line_patterns``: what marks a FOCUS line's spend as GPU spend (FOCUS 1.x has no GPU
column). docs/cost.md lists what each matches."""

SECRETS = (
    "github_webhook_secret",
    "gitlab_webhook_token",
    "pagerduty_webhook_secret",
    "opsgenie_webhook_token",
    "jira_webhook_secret",
    "linear_webhook_secret",
    "cdevents_webhook_secret",
    "slack_signing_secret",
    "slack_bot_token",
    "slack_client_secret",
    "oidc_client_secret",
    "session_secret",
    "github_token",
    "gitlab_token",
    "pagerduty_api_key",
    "opsgenie_api_key",
    "jira_api_token",
    "linear_api_key",
)


class Settings(BaseSettings):
    """Configuration from ``FRICTIONLOG_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="FRICTIONLOG_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/frictionlog.db"
    broker_url: OptionalStr = None
    """Unset means embedded mode: the worker and the scheduler run inside the API process."""
    timezone: str = "UTC"
    """Weeks are ISO weeks in this IANA time zone; storage is always UTC."""
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    spool_dir: Path = Path("./var/spool")
    """Where accepted requests are appended (fsync'd) while the database cannot commit."""

    production_environments: CommaList = ["production", "prod"]
    """Environment names whose deployments count in the metrics; others are kept but not counted."""
    incident_link_window_hours: float = Field(default=24.0, ge=0)
    """Link an incident to the service's last production deploy this long before it; 0 turns it off."""

    min_sample: int = Field(default=5, ge=1)
    """A figure computed from fewer samples than this says ``low_sample`` and gets no band."""
    bot_authors: CommaList = ["dependabot[bot]", "renovate[bot]"]
    """Commit authors (GitHub logins or names) whose changes are excluded from lead time."""

    taxonomy_path: OptionalPath = None
    """A friction taxonomy YAML replacing the built-in one (service/figures/friction/taxonomy.yaml)."""

    ingest_batch_size: int = Field(default=500, gt=0, le=5000)
    """How many inbox rows a worker claims in one transaction."""
    embedded_hold_seconds: float = Field(default=0.05, gt=0, le=5)
    """Embedded mode (SQLite): the longest the in-process worker should hold the one write lock per
    transaction; its batches are sized to fit, so ingest gets the lock between them."""
    embedded_busy_share: float = Field(default=0.2, gt=0, le=1)
    """Embedded mode: the share of the time the in-process worker takes while requests keep arriving (it
    shares the one interpreter lock with the API); it pauses that long after each transaction, and takes
    all the time it needs again once they stop. 1: never yield."""
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
    pulse_day: str = "fri"
    pulse_hour: int = Field(default=14, ge=0, le=23)
    """The weekly pulse asks opted-in engineers about this week on this day and hour (FRICTIONLOG_TIMEZONE)."""
    pulse_remind_day: str = "mon"
    pulse_remind_hour: int = Field(default=10, ge=0, le=23)
    """The one reminder, about the week just ended, to those who have not answered it."""
    gpu_line_patterns: list[str] = Field(default_factory=lambda: list(GPU_LINE_PATTERNS))
    """Regular expressions (case-insensitive, searched) that mark an imported FOCUS line's spend as GPU spend,
    applied when the cost figures are read (``service.figures.cost.gpu``): a changed list changes idle GPU
    cost without a re-import. Matched against the line's ServiceName and its rows' ResourceType, SkuMeter,
    SkuPriceDetails, ChargeDescription and ServiceSubcategory."""
    quote_min_reporters: int = Field(default=3, ge=1)
    """The digest quotes a report only from a team with at least this many reporters that week."""

    work_mapping_path: OptionalPath = None
    """A work-item and incident mapping YAML replacing the built-in one (service/figures/work/mapping.yaml)."""
    linear_timestamp_tolerance_seconds: float = Field(default=60.0, gt=0)
    """Linear deliveries whose ``webhookTimestamp`` is further than this from now are refused (401)."""
    jira_replay_window_seconds: float = Field(default=3600.0, gt=0)
    """Jira deliveries whose body ``timestamp`` is older than this are refused (401): the replay window."""

    github_webhook_secret: SecretStr | None = None
    gitlab_webhook_token: SecretStr | None = None
    pagerduty_webhook_secret: SecretStr | None = None
    opsgenie_webhook_token: SecretStr | None = None
    jira_webhook_secret: SecretStr | None = None
    linear_webhook_secret: SecretStr | None = None
    cdevents_webhook_secret: SecretStr | None = None
    """HMAC-SHA256 secret for CDEvents (``X-Signature-256: sha256=<hex>``); a bearer ``ingest`` token works too."""
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    """Slack's Web API base URL (a proxy, or a local stand-in in tests)."""
    slack_triage_channel: OptionalStr = None
    """Channel id where new friction reports are posted with triage buttons; unset: not posted."""
    slack_admins: CommaList = []
    """Slack user ids allowed to triage (comma-separated)."""
    slack_bot_user_id: OptionalStr = None
    """The bot's own Slack user id (``U…``), if known; requests are authorised from these settings alone,
    so nothing calls Slack before a request is acknowledged."""
    spool_max_bytes: int = Field(default=256 * 1024 * 1024, gt=0)
    """The spool stops taking deliveries past this size (ingest answers 503 instead of filling the disk)."""
    database_lock_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    """SQLite: how long a write waits for the file's lock before the request goes to the spool."""
    admin_lock_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """An admin write (catalogue, migrations, triage, replay) waits at most this long for a lock another
    transaction holds, then answers 503 with Retry-After."""

    reporting_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    """Every cost figure is reported in this ISO 4217 currency."""
    loaded_hourly_cost: float = Field(default=100.0, gt=0)
    """The net line's default value of an engineering hour (salary and overheads), in the reporting currency;
    admins change it on the overview (stored, ``service.digest.assumptions``)."""
    support_ticket_hours: float = Field(default=2.0, ge=0)
    """The net line's default engineering hours to handle one infrastructure support ticket."""
    incident_hours: float = Field(default=2.0, ge=0)
    """The net line's default length of an infrastructure incident, in hours."""
    incident_responders: float = Field(default=3.0, ge=0)
    """The net line's default number of engineers responding to an incident."""
    currency_rates: dict[str, float] = {}
    """JSON: currency → how many units of the reporting currency one unit is worth, e.g. {"EUR": 1.08}.
    Spend in a currency with no rate is refused (422 at the edge), never summed as if it were the same."""
    cost_service_tags: CommaList = ["service", "app"]
    """Tag keys (in order) naming the service a FOCUS charge belongs to; none present: unallocated."""
    max_import_bytes: int = Field(default=1_073_741_824, gt=0)
    """Cap of a cost file uploaded to POST /api/v1/cost/imports (streamed to disk, never held in memory)."""
    import_dir: Path = Path("./var/imports")
    """Where uploaded cost files are streamed while they are imported (deleted afterwards)."""
    opencost_url: OptionalStr = None
    """OpenCost's API base URL (e.g. http://opencost.opencost:9003); unset: no pull."""
    opencost_label: str = "app"
    """The Kubernetes label OpenCost aggregates by (``aggregate=label:<this>``): its values are service slugs."""
    prometheus_url: OptionalStr = None
    """Prometheus's base URL (e.g. http://prometheus:9090); unset: no pull."""
    prometheus_queries_path: OptionalPath = None
    """A YAML file of named PromQL queries replacing the shipped ones (service/figures/cost/prometheus_queries.yaml)."""
    prometheus_step_seconds: int = Field(default=3600, ge=60)
    pull_interval_seconds: float = Field(default=3600.0, gt=0)
    """How often beat (or the embedded scheduler) pulls OpenCost and Prometheus."""
    pull_lookback_days: int = Field(default=3, ge=1, le=60)
    """Each pull asks for the whole days (UTC) this far back; a window already pulled is a duplicate."""
    pull_timeout_seconds: float = Field(default=10.0, gt=0)
    pull_attempts: int = Field(default=3, ge=1, le=10)
    """Tries per request (timeouts and 5xx are retried with backoff); then the pull is reported failed."""

    github_token: SecretStr | None = None
    """History imports (docs/import.md): a token that reads the repositories (``repo`` or fine-grained
    Contents, Deployments, Issues, Pull requests: read). Never on the command line, never logged."""
    github_api_url: str = "https://api.github.com"
    """GitHub's REST base URL; GitHub Enterprise Server: ``https://HOST/api/v3``."""
    gitlab_token: SecretStr | None = None
    gitlab_api_url: str = "https://gitlab.com/api/v4"
    pagerduty_api_key: SecretStr | None = None
    pagerduty_api_url: str = "https://api.pagerduty.com"
    opsgenie_api_key: SecretStr | None = None
    opsgenie_api_url: str = "https://api.opsgenie.com"
    jira_email: OptionalStr = None
    jira_api_token: SecretStr | None = None
    jira_api_url: OptionalStr = None
    """Your site, e.g. ``https://example.atlassian.net``."""
    linear_api_key: SecretStr | None = None
    linear_api_url: str = "https://api.linear.app/graphql"
    import_timeout_seconds: float = Field(default=30.0, gt=0)
    import_attempts: int = Field(default=5, ge=1, le=20)
    """Tries per history request (timeouts, 5xx, truncated pages are retried with backoff)."""
    import_max_wait_seconds: float = Field(default=3900.0, gt=0)
    """The longest a history import waits for a rate limit to reset before it stops (resumable)."""
    import_schedule: CommaList = []
    """Scheduled incremental imports, ``SOURCE:SCOPE`` comma-separated (``github:owner/repo``,
    ``pagerduty:PSERVICE``); each continues from its checkpoint (workers/schedule.py, daily)."""
    import_interval_seconds: float = Field(default=86400.0, gt=0)

    public_url: str = "http://127.0.0.1:8000"
    """Where people reach the web app (scheme, host, optional path prefix); links in Slack are built from it.
    An https URL also marks the session cookie Secure."""
    session_secret: SecretStr | None = None
    """Signs the web app's session cookies. Unset in embedded mode: a key made once and kept in
    ``var/session.key`` (mode 0600), so a restart signs nobody out. Unset in distributed mode: a random key per
    process (sessions end at a restart; several API replicas need one shared value)."""
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    """A web session ends this long after sign-in."""
    slack_client_id: OptionalStr = None
    """The Slack app's client id for "Sign in with Slack" (OpenID Connect); unset: token sign-in only."""
    slack_client_secret: SecretStr | None = None
    slack_oidc_url: str = "https://slack.com"
    """Base of Slack's OpenID Connect endpoints (/openid/connect/authorize, /api/openid.connect.token,
    /api/openid.connect.userInfo): a local stand-in in tests."""
    slack_team_id: OptionalStr = None
    """Only members of this Slack workspace may sign in with Slack; required with FRICTIONLOG_SLACK_CLIENT_ID
    (without it anyone in any workspace could sign in and read)."""
    oidc_issuer: OptionalStr = None
    """Sign-in through any OpenID Connect provider (Okta, Google Workspace, Entra ID, Keycloak): its issuer
    URL, whose ``/.well-known/openid-configuration`` names the endpoints; unset: no such sign-in."""
    oidc_client_id: OptionalStr = None
    oidc_client_secret: SecretStr | None = None
    oidc_role_claim: str = "groups"
    """The ID-token claim (a string or a list of strings) whose values decide the role."""
    oidc_admin_values: CommaList = []
    """Values of the role claim that make an ``admin`` (comma-separated)."""
    oidc_read_values: CommaList = []
    """Values that make a ``read`` viewer; someone with neither is refused (one of the two lists is required)."""

    @field_validator("gpu_line_patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from None
        return value

    @model_validator(mode="after")
    def _secrets_are_usable(self) -> Settings:
        """A secret set to an empty string would accept anything signed with an empty key: refuse to start."""
        for name in SECRETS:
            value = getattr(self, name)
            if value is not None and not value.get_secret_value().strip():
                raise ValueError(f"{env_variable(name)} is set but empty: give it a value or unset it")
        if self.slack_client_id and not self.slack_team_id:
            raise ValueError(
                "FRICTIONLOG_SLACK_CLIENT_ID is set but FRICTIONLOG_SLACK_TEAM_ID is not: anyone in any Slack "
                "workspace could sign in to the web app and read it; set the team id of yours"
            )
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError(
                "FRICTIONLOG_OIDC_ISSUER needs FRICTIONLOG_OIDC_CLIENT_ID and FRICTIONLOG_OIDC_CLIENT_SECRET"
            )
        if self.oidc_issuer and not (self.oidc_admin_values or self.oidc_read_values):
            raise ValueError(
                "FRICTIONLOG_OIDC_ISSUER is set but neither FRICTIONLOG_OIDC_ADMIN_VALUES nor "
                "FRICTIONLOG_OIDC_READ_VALUES: anyone the provider knows could sign in and read; name the groups"
            )
        if self.slack_signing_secret is not None and self.slack_bot_token is None:
            raise ValueError(
                "FRICTIONLOG_SLACK_SIGNING_SECRET is set but FRICTIONLOG_SLACK_BOT_TOKEN is not: Slack needs both"
            )
        return self

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def env_variable(field: str) -> str:
    """The environment variable that sets a ``Settings`` field: what a person fixes."""
    return f"{Settings.model_config.get('env_prefix', '')}{field.upper()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def setting_errors(exc: ValidationError) -> list[str]:
    """One line per bad setting, named by its environment variable: what a person fixes. The value is not
    repeated (it may be a secret)."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        variable = env_variable(name) if name else "settings"
        lines.append(f"{variable}: {error['msg']}")
    return lines
