"""Outbound webhooks: sign one delivery per Standard Webhooks and send it, safely, once.

* Signing (https://www.standardwebhooks.com): ``webhook-id`` is the event id,
  ``webhook-timestamp`` the time of sending in whole seconds, ``webhook-signature`` one
  ``v1,<base64 HMAC-SHA256>`` per live secret, space-separated, so during a rotation a receiver
  holding either the old or the new secret accepts the delivery.
* Where it goes: the endpoint's host is resolved once, every address it resolves to must be
  public (or, in development, every one loopback), and the connection is made to that checked
  address: no second lookup, so a name that answers differently the next time (DNS rebinding)
  cannot turn a delivery towards the cloud metadata service or the internal network.
* How: https on port 443 only (a loopback receiver in development may use http and any port),
  no environment proxies, no redirects (a 3xx is a failed delivery), one total deadline for
  connect, send and answer, and at most 1 KB of the answer read.

Nothing here retries or stores anything: the delivery worker calls ``send_delivery`` once per
attempt and keeps the ``DeliveryResult``.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from secrets import token_bytes
from typing import Any
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3
from standardwebhooks import Webhook
from urllib3.connection import HTTPConnection, HTTPSConnection

from dashboard.core.addresses import IPAddress, is_public_address
from dashboard.core.clock import utc_now
from dashboard.providers import outbound

DELIVERY_DEADLINE_SECONDS = 10.0
RESPONSE_HEAD_BYTES = 1024
SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's prefix, not a secret

Resolver = Callable[..., Sequence[tuple[Any, ...]]]

USE_HTTPS = "Use an https address on port 443."
PRIVATE_NETWORK = "This address points to a private network."
NO_HOST = "Enter a full address, such as https://shop.example/webhooks."
CREDENTIALS = "Remove the user name and password from the address."
UNKNOWN_HOST = "This address’s host name could not be found."


@dataclass(frozen=True)
class DeliveryResult:
    """What one attempt to deliver an event got: the answer's status and start, or why none."""

    status_code: int | None
    latency_ms: int
    response_head: str
    error: str | None

    @property
    def delivered(self) -> bool:
        """Return True when the receiver answered 2xx: only that counts as delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class _Target:
    """An endpoint URL with its host checked and resolved: where to connect, what to send."""

    scheme: str
    hostname: str
    host_header: str
    port: int
    path: str
    address: str


def generate_secret() -> str:
    """Return a new endpoint signing secret, ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(32)).decode("ascii")


def signature_headers(
    event_id: str, body: bytes, secrets_: Sequence[str], sent_at: datetime
) -> dict[str, str]:
    """Return the Standard Webhooks headers for ``body``: one signature per live secret."""
    if not secrets_:
        raise ValueError("an endpoint needs at least one live secret to sign with")
    signatures = [
        Webhook(secret).sign(event_id, sent_at, body.decode("utf-8")) for secret in secrets_
    ]
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def check_endpoint_url(
    url: str, production: bool, resolver: Resolver = socket.getaddrinfo
) -> str | None:
    """Return None when webhooks may be sent to ``url``, else why not, in a merchant's words.

    Production accepts only https on port 443 to a host whose every address is public;
    elsewhere a host whose every address is loopback may also use http and any port.
    """
    checked = _check(url, allow_loopback=not production, resolver=resolver)
    return checked if isinstance(checked, str) else None


def send_delivery(
    url: str,
    event_id: str,
    body: bytes,
    secrets: Sequence[str],
    *,
    allow_loopback: bool = False,
    resolver: Resolver = socket.getaddrinfo,
    now: Callable[[], datetime] = utc_now,
    deadline_seconds: float = DELIVERY_DEADLINE_SECONDS,
) -> DeliveryResult:
    """POST ``body`` signed with every secret in ``secrets`` to ``url`` once; return the result.

    Never raises for the receiver's faults: a refused URL, a failed connection, a timeout or
    a non-2xx answer is a ``DeliveryResult`` with its ``error`` or ``status_code``.
    """
    started = time.monotonic()
    target = _check(url, allow_loopback=allow_loopback, resolver=resolver)
    if isinstance(target, str):
        return DeliveryResult(None, _since(started), "", target)
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": "payment-dashboard-webhooks/1",
        **signature_headers(event_id, body, secrets, now()),
    }
    deadline = outbound.Deadline(deadline_seconds)
    try:
        status, head = _post(target, headers, body, deadline)
    except (
        OSError,  # refused, reset, TLS failures (ssl.SSLError)
        ValueError,  # a certificate for another name (urllib3's CertificateError)
        http.client.HTTPException,  # an answer that is not HTTP
        urllib3.exceptions.HTTPError,
        outbound.DeadlineExceeded,
    ) as exc:
        if deadline.remaining() <= 0:
            error = f"No answer within {deadline_seconds:g} seconds."
        else:
            error = f"Could not deliver: {exc.__class__.__name__}: {exc}"[:300]
        return DeliveryResult(None, _since(started), "", error)
    failure = None if 200 <= status < 300 else f"The endpoint answered {status}."
    return DeliveryResult(status, _since(started), head, failure)


def _check(url: str, allow_loopback: bool, resolver: Resolver) -> _Target | str:
    """Return where ``url`` may be reached (its host resolved once and checked), or why not."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return NO_HOST
    if parts.scheme not in ("https", "http"):
        return USE_HTTPS
    if not parts.hostname:
        return NO_HOST
    if parts.username is not None or parts.password is not None:
        return CREDENTIALS
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    addresses = _resolve(parts.hostname, port, resolver)
    if addresses is None:
        return UNKNOWN_HOST
    local = allow_loopback and all(address.is_loopback for address in addresses)
    if not local:
        if not all(is_public_address(address) for address in addresses):
            return PRIVATE_NETWORK
        if parts.scheme != "https" or port != 443:
            return USE_HTTPS
    return _Target(
        scheme=parts.scheme,
        hostname=parts.hostname,
        host_header=parts.netloc,
        port=port,
        path=_path(parts),
        address=str(addresses[0]),
    )


def _resolve(hostname: str, port: int, resolver: Resolver) -> list[IPAddress] | None:
    """Return every address ``hostname`` resolves to (one lookup), or None when it does not."""
    try:
        answers = resolver(hostname, port, type=socket.SOCK_STREAM)
        # sockaddr[0] is the address; an IPv6 one may carry a %scope, which ipaddress accepts.
        addresses = [ipaddress.ip_address(answer[4][0]) for answer in answers]
    except (OSError, UnicodeError, ValueError):
        return None
    return addresses or None


def _path(parts: SplitResult) -> str:
    """Return the request target: the URL's path and query, never its fragment."""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _post(
    target: _Target, headers: dict[str, str], body: bytes, deadline: outbound.Deadline
) -> tuple[int, str]:
    """POST to the checked address itself; return the status and at most 1 KB of the answer.

    urllib3's connection classes, rather than requests, because they take the address to
    connect to apart from the name to verify: TLS sends the hostname as SNI and checks the
    certificate against it while the socket goes to the address already checked (requests
    would resolve the name again). They read no proxy settings from the environment and follow
    no redirects, and the Host header we pass is sent as is.
    """
    connect_timeout, _ = deadline.timeout()
    connection: HTTPConnection
    if target.scheme == "https":
        connection = HTTPSConnection(
            target.address,
            target.port,
            timeout=connect_timeout,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            server_hostname=target.hostname,
            assert_hostname=target.hostname,
        )
    else:
        connection = HTTPConnection(target.address, target.port, timeout=connect_timeout)
    # Socket timeouts bound each read, not the whole answer: a receiver trickling its headers
    # a byte at a time could hold the worker far past the deadline, so a watchdog cuts the
    # socket when the deadline comes, wherever the exchange is.
    watchdog = threading.Timer(deadline.remaining(), _cut, args=(connection,))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        _, read_timeout = deadline.timeout()
        if connection.sock is not None:
            connection.sock.settimeout(read_timeout)
        # Not preloaded: only the first 1 KB is read, however much the receiver sends; not
        # decoded: we asked for no compression, and a compressed answer stays 1 KB read.
        connection.request(
            "POST",
            target.path,
            body=body,
            headers=headers,
            preload_content=False,
            decode_content=False,
        )
        response = connection.getresponse()
        head = response.read(RESPONSE_HEAD_BYTES)
        if deadline.remaining() <= 0:
            raise outbound.DeadlineExceeded("the answer came after the deadline")
        return response.status, head.decode("utf-8", errors="replace")
    finally:
        watchdog.cancel()
        connection.close()


def _cut(connection: HTTPConnection) -> None:
    """Shut the connection's socket so a read blocked on it returns now."""
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
