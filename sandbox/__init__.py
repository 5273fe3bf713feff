"""A local stand-in for the Clockify API (core + detailed report), for tests, demos and benchmarks.

    from sandbox import create_sandbox, MAIN_KEY
    sandbox = create_sandbox(seed=1, rate_limit=None)
    with sandbox.serve_in_thread() as running:       # port 0: a free port
        requests.get(running.api_url + "/user", headers={"X-Api-Key": MAIN_KEY})

Base URLs for the app (see README.md in this folder):
    HOURBILL_CLOCKIFY_API_URL=http://127.0.0.1:5050/api/v1
    HOURBILL_CLOCKIFY_REPORTS_URL=http://127.0.0.1:5050/report/v1   (or .../v1, the global host's shape)

`python -m sandbox` serves on 127.0.0.1:5050; `serve(host, port, **knobs)` is what a `flask sandbox`
command can call.
"""
from __future__ import annotations

from .data import (ACME_ID, ACME_NAME, BOULANGERIE_ID, DEFAULT_MONTH, DEMO_TIME_ZONE, DEMO_USER_EMAIL, DEMO_USER_ID,
                   DEMO_USER_NAME, DESIGN_TASK_ID, DEVELOPMENT_TASK_ID, EURO_SIGN_ID, EURO_SIGN_NAME, FREE_ID, FREE_NAME,
                   GLOBEX_ID, INTERNAL_ID, JONAS_ID, KANJI_ARCHIVE_ID, KANJI_ID, LEGACY_PORTAL_ID, LIGHTHOUSE_ID,
                   LIGHTHOUSE_NAME, LIGHTHOUSE_SUBDOMAIN, MAIN_KEY, MARIA_ID, MENU_APP_ID, MOBILE_APP_ID, NORTHWIND_ID,
                   NORTHWIND_NAME, OLIVIA_ID, PRIYA_ID, QA_TASK_ID, SAKURA_ID, SITE_VITRINE_ID, SUBDOMAIN_KEY,
                   SUBDOMAIN_USER_ID, SUPPORT_RETAINER_ID, TOKYO_ID, TOKYO_INTERNAL_ID, TOKYO_NAME, UMBRELLA_ID,
                   WEBSITE_REDESIGN_ID, WEBSITE_REDESIGN_NAME, build_world)
from .server import Fault, RecordedRequest, RunningSandbox, Sandbox, fingerprint


def create_sandbox(**knobs) -> Sandbox:
    """A fresh sandbox. Knobs: seed, members, entries_per_member, month ("YYYY-MM"), months, latency, free_plan,
    rate_limit, retry_after, free_calls_per_hour (see Sandbox)."""
    return Sandbox(**knobs)


def serve(host: str = "127.0.0.1", port: int = 5050, **knobs) -> None:
    """Serve a sandbox in the foreground until interrupted, after printing the demo key and base URLs."""
    from werkzeug.serving import make_server

    sandbox = create_sandbox(**knobs)
    server = make_server(host, port, sandbox, threaded=True)
    root = f"http://{host}:{server.server_port}"
    print(f"Clockify sandbox on {root}\n"
          f"  demo API key ({ACME_NAME} and {FREE_NAME}): {MAIN_KEY}\n"
          f"  subdomain key ({LIGHTHOUSE_NAME}, '{LIGHTHOUSE_SUBDOMAIN}'): {SUBDOMAIN_KEY}\n"
          f"  HOURBILL_CLOCKIFY_API_URL={root}/api/v1\n"
          f"  HOURBILL_CLOCKIFY_REPORTS_URL={root}/report/v1   (global shape: {root}/v1)\n"
          f"  control: {root}/__sandbox", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
