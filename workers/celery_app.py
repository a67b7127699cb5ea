"""The Celery application, configured explicitly from Settings (never from the environment at import)."""

from __future__ import annotations

from celery import Celery

from service.settings import Settings, get_settings

INGEST_QUEUE = "ingest"
AGGREGATE_QUEUE = "aggregate"
DIGEST_QUEUE = "digest"
QUEUES = (INGEST_QUEUE, AGGREGATE_QUEUE, DIGEST_QUEUE)

DRAIN_TASK = "frictionlog.ingest.drain_inbox"
SWEEP_TASK = "frictionlog.ingest.sweep"
RETRAIN_TASK = "frictionlog.friction.retrain"
NOTIFY_TASK = "frictionlog.friction.notify_reporters"
DIGEST_TASK = "frictionlog.digest.weekly"
KEEP_DIGESTS_TASK = "frictionlog.digest.keep_recent"
ROLLUP_TASK = "frictionlog.aggregate.refresh_rollups"
PULL_OPENCOST_TASK = "frictionlog.pull.opencost"
PULL_PROMETHEUS_TASK = "frictionlog.pull.prometheus"
TASK_QUEUES = {
    DRAIN_TASK: INGEST_QUEUE,
    SWEEP_TASK: INGEST_QUEUE,
    RETRAIN_TASK: AGGREGATE_QUEUE,
    NOTIFY_TASK: AGGREGATE_QUEUE,
    DIGEST_TASK: DIGEST_QUEUE,
    KEEP_DIGESTS_TASK: DIGEST_QUEUE,
    ROLLUP_TASK: AGGREGATE_QUEUE,
    PULL_OPENCOST_TASK: AGGREGATE_QUEUE,
    PULL_PROMETHEUS_TASK: AGGREGATE_QUEUE,
}


def configure(app: Celery, settings: Settings) -> Celery:
    from workers.schedule import beat_schedule  # the one schedule table (it names the tasks defined here)

    app.conf.update(
        broker_url=settings.broker_url or "memory://",
        task_serializer="json",
        accept_content=["json"],
        result_backend=None,
        task_ignore_result=True,
        # The inbox is the source of truth, so a redelivered message only costs an empty drain.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 300},
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        task_default_queue=INGEST_QUEUE,
        timezone=settings.timezone,
        beat_schedule=beat_schedule(settings),
    )
    return app


def create_celery(settings: Settings | None = None) -> Celery:
    app = Celery("frictionlog", include=["workers.tasks"])
    return configure(app, settings or get_settings())


app = Celery("frictionlog", include=["workers.tasks"])
"""The worker's app; ``frictionlog worker`` configures it from Settings before it starts."""
