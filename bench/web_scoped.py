"""The overview narrowed by ``?service=``, ``?team=&from=`` or ``?from=`` once its re-estimated scorecard is
ready (``service.digest.scoped``), against the unnarrowed overview in the same run: bench.web's quick world
(40 services, a year), one ``frictionlog serve``, a signed-in session, 30 sequential requests per page.

    python -m bench.web_scoped
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx

from bench.dataset import create, drop
from bench.harness import frictionlog, server
from bench.web import WARM_SECONDS, prepare, sign_in, timed

PAGES = ("/", "/?service=svc-001", "/?team=team-3&from=2026-W40", "/?from=2026-W40")


def main() -> None:
    data = create(services=40, seed=5)
    try:
        prepare(data.url, datetime(2026, 11, 23, tzinfo=UTC))
        env = {"FRICTIONLOG_DATABASE_URL": data.url, "FRICTIONLOG_BROKER_URL": ""}
        token = frictionlog("tokens", "create", "bench-web", "--scope", "read", "--scope", "admin", env=env).split()[-1]
        with server(env) as running, httpx.Client(base_url=running.url, timeout=60) as client:
            time.sleep(WARM_SECONDS)
            sign_in(client, token)
            for path in PAGES:
                started = time.perf_counter()
                while 'data-rescoped="no"' in client.get(path).text:
                    time.sleep(0.2)
                ready = time.perf_counter() - started
                f = timed(client, path, 30)
                print(f"| `{path}` | {ready:.1f} | {f['p50']:.0f} | {f['p95']:.0f} | {f['max']:.0f} |", flush=True)
    finally:
        drop(data)


if __name__ == "__main__":
    main()
