"""Real SMTP servers on 127.0.0.1 for the mail tests: aiosmtpd, which keeps every message it takes (or
refuses them with a 5xx when told to), and two bad servers made of a bare socket: one that greets and
then drops the connection, one that accepts the connection and never says a word."""
from __future__ import annotations

import email
import socket
import threading
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd's handler: what the server received, or a refusal."""

    def __init__(self):
        self.messages: list[tuple[list[str], EmailMessage]] = []  # (envelope recipients, message)
        self.refuse: str | None = None  # e.g. "554 5.7.1 Rejected as spam": answer DATA with it
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        message = email.message_from_bytes(envelope.original_content, policy=default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 2.0.0 Ok: queued as TEST123"


class SmtpServer:
    def __init__(self):
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self):
        return self.inbox.messages

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class BadServer:
    """A socket server that greets and hangs up ("drop"), or never answers at all ("hang")."""

    def __init__(self, behaviour: str):
        self.behaviour = behaviour
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        self.listener.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            if self.behaviour == "drop":
                connection.sendall(b"220 test ESMTP\r\n")
                connection.recv(1024)  # EHLO
                connection.close()
            else:
                self.held.append(connection)  # accepted, never answered

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join(timeout=2)
        for connection in self.held:
            connection.close()
        self.listener.close()


def point_at(app, port: int, timeout: float = 2) -> None:
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=timeout,
                      MAIL_DEFAULT_SENDER="Hourbill <billing@ada.example>")


@pytest.fixture
def smtp(app):
    """A real SMTP server on 127.0.0.1, and the app sending through it."""
    with SmtpServer() as server:
        point_at(app, server.port)
        yield server
