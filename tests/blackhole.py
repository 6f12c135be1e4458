"""A server that accepts TCP connections and never answers: an outside service that hung."""

from __future__ import annotations

import socket
import threading


class Blackhole:
    """Listens on a free local port, accepts every connection and holds it open, silent."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            self.accepted += 1
            self._held.append(connection)

    def close(self) -> None:
        """Stop listening and drop every held connection."""
        self._listener.close()
        for connection in self._held:
            connection.close()
