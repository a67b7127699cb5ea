"""The Celery task names and queues: one name per task, read by the app, the schedule and every sender."""

from __future__ import annotations

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
IMPORT_RUNS_TASK = "frictionlog.import.run_requested"
IMPORT_SCHEDULED_TASK = "frictionlog.import.scheduled"
PULSE_ASK_TASK = "frictionlog.pulse.ask"
PULSE_REMIND_TASK = "frictionlog.pulse.remind"
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
    IMPORT_RUNS_TASK: AGGREGATE_QUEUE,
    IMPORT_SCHEDULED_TASK: AGGREGATE_QUEUE,
    PULSE_ASK_TASK: AGGREGATE_QUEUE,
    PULSE_REMIND_TASK: AGGREGATE_QUEUE,
}
