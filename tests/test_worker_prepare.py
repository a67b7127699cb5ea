"""A worker process prepares itself once started (``worker_process_init``): its database engine made,
so the driver is imported before the first task, and the heap then settled with the driver in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import gc, json, sys
before = "psycopg" in sys.modules
from workers import tasks  # what a Celery worker imports; its worker_process_init handler is the one run
from celery.signals import worker_process_init
worker_process_init.send(sender=None)
print(json.dumps({"before": before, "driver": "psycopg" in sys.modules, "frozen": gc.get_freeze_count()}))
"""


def test_a_started_worker_process_has_its_driver_and_a_settled_heap(postgres_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "FRICTIONLOG_DATABASE_URL": postgres_url, "FRICTIONLOG_SPOOL_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"] is False
    assert seen["driver"] is True
    assert seen["frozen"] > 10_000  # the interpreter, the app and the driver, out of the collector's walk
