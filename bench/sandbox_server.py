"""`python -m bench.sandbox_server [--members 20 --entries-per-member 500]`: the Clockify sandbox (10
requests/s per key, no latency) on a free loopback port, in its own process. Prints
{"url", "api_url", "reports_url", "pid"} and serves until SIGTERM or EOF on stdin."""
from __future__ import annotations

import argparse

from werkzeug.serving import make_server

from bench._servers import QuietHandler, serve_until_told
from sandbox import create_sandbox
from sandbox.server import CORE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--entries-per-member", type=int, default=500)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--rate-limit", type=int, default=10)
    args = parser.parse_args()
    sandbox = create_sandbox(members=args.members, entries_per_member=args.entries_per_member, months=args.months,
                             rate_limit=args.rate_limit or None)
    server = make_server("127.0.0.1", 0, sandbox, threaded=True, request_handler=QuietHandler)
    url = f"http://127.0.0.1:{server.server_port}"
    serve_until_told(server, {"url": url, "api_url": url + CORE, "reports_url": url + "/report/v1"})


if __name__ == "__main__":
    main()
