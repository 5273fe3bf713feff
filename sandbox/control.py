"""The sandbox's control API (/__sandbox): what tests, demos and benchmarks use over HTTP to read the
state, reset it, inject faults, add and revoke keys, read the request log and change the knobs."""
from __future__ import annotations

from dataclasses import asdict

from flask import Flask, Response, request

from .answers import CONTROL, REDIRECT_TARGET, ErrorAnswer, answer_json as _json, fingerprint
from .data import DEMO_USER_ID

def add_control_routes(app: Flask, sandbox) -> None:
    """The control API under /__sandbox on the sandbox's Flask app: state, reset, faults, keys, the request
    log and the knobs; and the redirect-target canary."""

    @app.get(CONTROL)
    def control_state():
        return _json(sandbox.state())

    @app.post(CONTROL + "/reset")
    def control_reset():
        sandbox.reset()
        return _json(sandbox.state())

    @app.route(CONTROL + "/faults", methods=["GET", "POST", "DELETE"])
    def control_faults():
        if request.method == "POST":
            spec = request.get_json(silent=True)
            if not isinstance(spec, dict) or "kind" not in spec:
                raise ErrorAnswer(400, "POST a JSON fault: {\"kind\": ..., \"path\": ..., ...}", 400)
            try:
                fault = sandbox.add_fault(**spec)
            except (TypeError, ValueError) as error:
                raise ErrorAnswer(400, str(error), 400) from None
            return _json(asdict(fault), 201)
        if request.method == "DELETE":
            sandbox.clear_faults()
        return _json([asdict(f) for f in sandbox.faults])

    @app.route(CONTROL + "/keys", methods=["GET", "POST"])
    def control_keys():
        if request.method == "POST":
            spec = request.get_json(silent=True) or {}
            try:
                key = sandbox.add_key(spec.get("accountId", DEMO_USER_ID), spec.get("key"))
            except KeyError as error:
                raise ErrorAnswer(400, str(error), 400) from None
            return _json({"key": key, "fingerprint": fingerprint(key)}, 201)
        return _json(sandbox.state()["keys"])

    @app.delete(CONTROL + "/keys/<path:key>")
    def control_revoke_key(key):
        sandbox.revoke_key(key)
        return Response(status=204)

    @app.route(CONTROL + "/requests", methods=["GET", "DELETE"])
    def control_requests():
        if request.method == "DELETE":
            sandbox.clear_requests()
            return Response(status=204)
        return _json([asdict(r) | {"url": r.url} for r in sandbox.calls()])

    @app.route(CONTROL + "/settings", methods=["GET", "POST"])
    def control_settings():
        if request.method == "POST":
            spec = request.get_json(silent=True) or {}
            unknown = set(spec) - set(sandbox._initial_knobs)
            if unknown:
                raise ErrorAnswer(400, f"unknown settings: {', '.join(sorted(unknown))}", 400)
            with sandbox._lock:
                for name, value in spec.items():
                    setattr(sandbox, name, value)
        return _json(sandbox.state()["knobs"])

    @app.route(REDIRECT_TARGET, methods=["GET", "POST"])
    def redirect_target():
        # Reaching this means a client followed a redirect (and maybe forwarded its key): the log says so.
        return _json({"message": "A client followed a redirect from the Clockify sandbox", "code": 0}, 418)
