"""`python -m bench.app_server --workdir DIR --api-url URL --reports-url URL`: Hourbill's create_app() on
SQLite in DIR (never instance/), served by werkzeug on a free loopback port in its own process, so its
memory can be read from /proc/<pid>/status. Prints {"url", "pid"} and serves until SIGTERM or EOF on stdin."""
from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from werkzeug.serving import make_server

from bench._servers import QuietHandler, serve_until_told


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--reports-url", required=True)
    args = parser.parse_args()

    from app import create_app
    from extensions import db

    workdir = Path(args.workdir)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'app.db'}",
                      "SECRET_KEY": secrets.token_urlsafe(32),
                      "HOURBILL_CLOCKIFY_API_URL": args.api_url,
                      "HOURBILL_CLOCKIFY_REPORTS_URL": args.reports_url},
                     instance_path=str(workdir / "instance"))
    with app.app_context():
        db.create_all()
    # One thread per request, like `flask run`; the benchmark sends one request at a time, as a browser tab does.
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    serve_until_told(server, {"url": f"http://127.0.0.1:{server.server_port}"})


if __name__ == "__main__":
    main()
