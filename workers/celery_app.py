"""The Celery application, configured explicitly from Settings (never from the environment at import)."""

from __future__ import annotations

from celery import Celery

from service.core.settings import Settings, get_settings
from workers.names import INGEST_QUEUE, TASK_QUEUES
from workers.schedule import beat_schedule

VISIBILITY_TIMEOUT_SECONDS = 3600
"""Redis hands a message no worker has acknowledged out again after this long. It must exceed every countdown
and retry backoff a task waits out (a digest's retry after its claim lapses, backoffs up to 900 s): a worker
holds a waiting message unacknowledged, so a shorter timeout runs it twice. An import, which runs for hours,
is acknowledged when it starts instead (workers/tasks.py)."""


def configure(app: Celery, settings: Settings) -> Celery:
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
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
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
