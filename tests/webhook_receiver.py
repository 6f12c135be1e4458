"""A merchant's webhook receiver on 127.0.0.1, for the sender, worker and browser tests.

It records every request and answers with ``answer`` (200 "ok" unless a test says otherwise).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as the receiver read it."""

    path: str
    headers: dict[str, str]
    body: bytes


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.body = body  # for an answer that depends on what was sent
        self.server.received.append(Received(self.path, dict(self.headers.items()), body))
        self.server.answer(self)

    def log_message(self, *args: object) -> None:
        pass


def answer_ok(handler: BaseHTTPRequestHandler) -> None:
    """Answer 200 with the body ``ok``."""
    answer_with(200)(handler)


def answer_with(status: int, body: bytes = b"ok") -> Callable[[BaseHTTPRequestHandler], None]:
    """Return an answer of ``status`` with ``body``."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


class Receiver(ThreadingHTTPServer):
    """A merchant's webhook receiver on 127.0.0.1: records requests, answers with ``answer``."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.answer: Callable[[BaseHTTPRequestHandler], None] = answer_ok

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Serve a Receiver on a thread for the duration of the block."""
    server = Receiver()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
