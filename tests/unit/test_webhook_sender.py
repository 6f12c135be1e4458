"""Signing and sending one webhook delivery: a real receiver on 127.0.0.1 verifies every
signature with the standardwebhooks library; URL checks use a stub resolver and never connect
beyond loopback."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks import Webhook, WebhookVerificationError

from dashboard.providers import webhook_sender
from dashboard.providers.webhook_sender import (
    PRIVATE_NETWORK,
    USE_HTTPS,
    check_endpoint_url,
    generate_secret,
    send_delivery,
)
from tests.webhook_receiver import Receiver, answer_ok, running_receiver

EVENT_ID = "0192f3a4-5b6c-7d8e-9f01-23456789abcd"
BODY = json.dumps({"id": EVENT_ID, "type": "payment.completed", "data": {"amount_minor": 1250}})
PUBLIC_IP = "93.184.215.14"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as server:
        yield server


class StubResolver:
    """Answers each lookup with the next list of addresses (the last one repeats); counts."""

    def __init__(self, *answers: list[str]):
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, host: str, port: int, **kwargs: object) -> list[tuple]:
        answer = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in answer
        ]


def _deliver(url: str, secrets: list[str], **kwargs) -> webhook_sender.DeliveryResult:
    return send_delivery(url, EVENT_ID, BODY.encode(), secrets, allow_loopback=True, **kwargs)


# Signing


def test_the_receiver_verifies_a_delivery_with_the_endpoints_secret(receiver):
    secret = generate_secret()

    result = _deliver(receiver.url("/hooks?shop=1"), [secret])

    assert (result.status_code, result.response_head, result.error) == (200, "ok", None)
    assert result.delivered
    (request,) = receiver.received
    assert request.path == "/hooks?shop=1"
    assert request.headers["webhook-id"] == EVENT_ID
    assert Webhook(secret).verify(request.body, request.headers) == json.loads(BODY)


def test_the_timestamp_is_the_time_of_sending_in_whole_seconds(receiver):
    sent_at = datetime.now(UTC).replace(microsecond=999_999)

    _deliver(receiver.url(), [generate_secret()], now=lambda: sent_at)

    assert receiver.received[0].headers["webhook-timestamp"] == str(int(sent_at.timestamp()))


def test_during_a_rotation_both_the_old_and_the_new_secret_verify(receiver):
    old, new = generate_secret(), generate_secret()

    _deliver(receiver.url(), [old, new])

    request = receiver.received[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(request.body, request.headers)
    assert Webhook(new).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(request.body, request.headers)


def test_a_delivery_is_never_sent_unsigned():
    with pytest.raises(ValueError, match="secret"):
        webhook_sender.signature_headers(EVENT_ID, BODY.encode(), [], datetime.now(UTC))


def test_a_generated_secret_is_whsec_and_32_random_bytes():
    first, second = generate_secret(), generate_secret()

    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert first != second


# Answers


def test_a_500_is_a_failed_delivery_with_its_status(receiver):
    def error(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(500)
        handler.send_header("Content-Length", "4")
        handler.end_headers()
        handler.wfile.write(b"oops")

    receiver.answer = error

    result = _deliver(receiver.url(), [generate_secret()])

    assert (result.status_code, result.response_head) == (500, "oops")
    assert result.error == "The endpoint answered 500."
    assert not result.delivered


def test_a_redirect_is_not_followed_and_fails_the_delivery(receiver):
    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", receiver.url("/elsewhere"))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    receiver.answer = redirect

    result = _deliver(receiver.url(), [generate_secret()])

    assert result.status_code == 302
    assert result.error == "The endpoint answered 302."
    assert [request.path for request in receiver.received] == ["/hooks"]


def test_a_receiver_slower_than_the_deadline_is_given_up(receiver):
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        answer_ok(handler)

    receiver.answer = slow

    result = _deliver(receiver.url(), [generate_secret()], deadline_seconds=0.5)

    assert result.status_code is None
    assert result.error == "No answer within 0.5 seconds."
    assert result.latency_ms < 1500


def test_a_receiver_trickling_its_headers_cannot_stretch_the_deadline(receiver):
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        # Each byte comes well within a read timeout, the whole answer long after the deadline.
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(60):
            handler.wfile.write(b"a")
            time.sleep(0.05)
        handler.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")

    receiver.answer = trickle

    started = time.monotonic()
    result = _deliver(receiver.url(), [generate_secret()], deadline_seconds=0.5)

    assert time.monotonic() - started < 1.5
    assert result.error == "No answer within 0.5 seconds."


def test_an_answer_that_is_not_http_is_a_failed_delivery(receiver):
    def garbage(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    receiver.answer = garbage

    result = _deliver(receiver.url(), [generate_secret()])

    assert result.status_code is None
    assert result.error.startswith("Could not deliver: BadStatusLine")


def test_only_the_first_kilobyte_of_an_endless_answer_is_read(receiver):
    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(10**12))
        handler.end_headers()
        try:
            while True:
                handler.wfile.write(b"x" * 65536)
        except OSError:
            pass  # the sender closed: it stopped reading

    receiver.answer = endless

    result = _deliver(receiver.url(), [generate_secret()])

    assert (result.status_code, result.error) == (200, None)
    assert result.response_head == "x" * 1024
    assert result.latency_ms < 2000


def test_proxies_from_the_environment_are_ignored(receiver, monkeypatch):
    proxy = Receiver()
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy.url(""))
    try:
        result = _deliver(receiver.url(), [generate_secret()])
    finally:
        proxy.shutdown()
        proxy.server_close()

    assert result.delivered
    assert len(receiver.received) == 1
    assert proxy.received == []


# Where a delivery may go


@pytest.mark.parametrize(
    ("url", "addresses", "reason"),
    [
        ("https://hooks.shop.example/in", [PUBLIC_IP], None),
        ("https://hooks.shop.example:443/in", ["2606:4700::1111"], None),
        ("https://hooks.shop.example/in", ["10.0.0.5"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["127.0.0.1"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", [PUBLIC_IP, "192.168.1.20"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["fd12:3456::1"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["::1"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["169.254.169.254"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["::ffff:169.254.169.254"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["64:ff9b::a00:5"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["100.64.0.1"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["224.0.0.251"], PRIVATE_NETWORK),
        ("https://hooks.shop.example/in", ["0.0.0.0"], PRIVATE_NETWORK),  # noqa: S104 - an answer, not a bind
        ("http://hooks.shop.example/in", [PUBLIC_IP], USE_HTTPS),
        ("https://hooks.shop.example:8443/in", [PUBLIC_IP], USE_HTTPS),
        ("ftp://hooks.shop.example/in", [PUBLIC_IP], USE_HTTPS),
        ("https://user:pw@hooks.shop.example/in", [PUBLIC_IP], webhook_sender.CREDENTIALS),
        ("https:///in", [PUBLIC_IP], webhook_sender.NO_HOST),
        ("https://hooks.shop.example:99999/in", [PUBLIC_IP], webhook_sender.NO_HOST),
        ("https://hooks.shop.example:0/in", [PUBLIC_IP], USE_HTTPS),
    ],
)
def test_production_sends_only_to_public_https_addresses_on_port_443(url, addresses, reason):
    assert check_endpoint_url(url, production=True, resolver=StubResolver(addresses)) == reason


@pytest.mark.parametrize(
    ("url", "addresses", "reason"),
    [
        ("http://localhost:8080/in", ["127.0.0.1", "::1"], None),
        ("https://localhost:9443/in", ["127.0.0.1"], None),
        ("http://hooks.shop.example/in", ["127.0.0.1", "10.0.0.5"], PRIVATE_NETWORK),
        ("http://hooks.shop.example/in", ["10.0.0.5"], PRIVATE_NETWORK),
        ("http://hooks.shop.example/in", [PUBLIC_IP], USE_HTTPS),
    ],
)
def test_development_also_sends_to_loopback_on_any_port(url, addresses, reason):
    assert check_endpoint_url(url, production=False, resolver=StubResolver(addresses)) == reason


def test_a_host_that_does_not_resolve_is_refused_in_words():
    def unknown(host: str, port: int, **kwargs: object) -> list[tuple]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    reason = check_endpoint_url(
        "https://nowhere.shop.example/in", production=True, resolver=unknown
    )

    assert reason == webhook_sender.UNKNOWN_HOST


def test_production_refuses_a_loopback_receiver_without_connecting(receiver):
    result = send_delivery(receiver.url(), EVENT_ID, BODY.encode(), [generate_secret()])

    assert (result.status_code, result.error) == (None, PRIVATE_NETWORK)
    assert receiver.received == []


def test_the_connection_goes_to_the_checked_address_with_the_hostname_as_host(receiver):
    resolver = StubResolver(["127.0.0.1"])

    result = _deliver(
        f"http://receiver.test:{receiver.port}/hooks", [generate_secret()], resolver=resolver
    )

    assert result.delivered
    assert resolver.calls == 1
    assert receiver.received[0].headers["Host"] == f"receiver.test:{receiver.port}"


def test_a_second_answer_of_the_resolver_cannot_redirect_the_connection(receiver, monkeypatch):
    # DNS rebinding: the name is public when checked, loopback (the receiver) when looked up
    # again. The connection must go to the address checked, so it never reaches the receiver.
    resolver = StubResolver([PUBLIC_IP], ["127.0.0.1"])
    connected_to = []

    def refuse(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        connected_to.append(address)
        raise ConnectionRefusedError("no internet in tests")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)

    result = send_delivery(
        "https://hooks.shop.example/hooks",
        EVENT_ID,
        BODY.encode(),
        [generate_secret()],
        resolver=resolver,
    )

    assert resolver.calls == 1
    assert connected_to == [(PUBLIC_IP, 443)]
    assert result.status_code is None
    assert result.error.startswith("Could not deliver")
    assert receiver.received == []


def _self_signed(hostname: str, directory) -> tuple[str, str]:
    """Write a certificate for ``hostname`` and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_receiver(receiver, tmp_path, monkeypatch) -> Callable[[str], Receiver]:
    """Serve ``receiver`` over TLS with a certificate for the name given; trust only that one."""

    def serve_as(hostname: str) -> Receiver:
        cert_path, key_path = _self_signed(hostname, tmp_path)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        receiver.socket = context.wrap_socket(receiver.socket, server_side=True)
        monkeypatch.setattr(webhook_sender.certifi, "where", lambda: cert_path)
        return receiver

    return serve_as


def test_tls_checks_the_certificate_against_the_hostname_not_the_address(tls_receiver):
    receiver = tls_receiver("receiver.test")

    result = _deliver(
        f"https://receiver.test:{receiver.port}/hooks",
        [generate_secret()],
        resolver=StubResolver(["127.0.0.1"]),
    )

    assert (result.status_code, result.error) == (200, None)
    assert receiver.received[0].headers["Host"] == f"receiver.test:{receiver.port}"


def test_a_certificate_for_another_name_fails_the_delivery(tls_receiver):
    receiver = tls_receiver("other.test")

    result = _deliver(
        f"https://receiver.test:{receiver.port}/hooks",
        [generate_secret()],
        resolver=StubResolver(["127.0.0.1"]),
    )

    assert result.status_code is None
    assert "Certificate" in result.error or "certificate" in result.error
    assert receiver.received == []
