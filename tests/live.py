"""The app served for real on a local port, in a thread, so a browser can use it."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from dashboard.app import create_app
from dashboard.domain.actor import Person


class LiveApp:
    """Serves a fresh ``create_app(settings)`` on ``port``; can be stopped and started again."""

    def __init__(self, settings: Mapping[str, str], port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # The app builds its links on this address, and answers requests for its host only.
        self.settings = {"PUBLIC_BASE_URL": self.url, **settings}
        self.app: Flask | None = None
        self.scans: list[str] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._worker: threading.Thread | None = None
        self._stop_worker = threading.Event()

    def start(self) -> None:
        """Build a new app (nothing kept from a previous one) and serve it."""
        self.app = create_app(self.settings)
        self.app.extensions["store"].ensure_tables()
        # No request may ever Scan: record any attempt, and let the test suite fail on it.
        self.app.extensions["store"].client.meta.events.register(
            "before-call.dynamodb.Scan", self._record_scan
        )
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def start_worker(self) -> None:
        """Run the webhook delivery worker beside the app, as `make run` does.

        Only while a test needs it (``stop_worker`` after): its thread reads DynamoDB every
        half second, and moto, once a unit test turns it on, would answer those reads too.
        """
        assert self.app is not None
        self._stop_worker = threading.Event()
        worker = self.app.extensions["delivery_worker"]
        self._worker = threading.Thread(
            target=worker.run_forever, args=(self._stop_worker, 0.5), daemon=True
        )
        self._worker.start()

    def stop_worker(self) -> None:
        """Stop the delivery worker after the attempt in flight."""
        self._stop_worker.set()
        if self._worker:
            self._worker.join(15)
            self._worker = None

    def stop(self) -> None:
        """Stop serving; the data stays in DynamoDB."""
        self.stop_worker()
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def restart(self) -> None:
        """Stop the app and start a brand-new instance of it on the same port."""
        self.stop()
        self.start()

    def account_of(self, subject: str) -> str:
        """Return the account a person who signed in (as ``subject``) works in now."""
        assert self.app is not None
        person = Person(self.app.extensions["settings"].oidc_issuer, subject)
        record = self.app.extensions["store"].accounts.get_person(person)
        assert record is not None, f"{subject} never signed in"
        assert record.last_account_id is not None
        return record.last_account_id

    def _record_scan(self, model, params, **_kwargs) -> None:
        self.scans.append(f"Scan {params.get('TableName')}")
        raise AssertionError("A request issued a DynamoDB Scan")
