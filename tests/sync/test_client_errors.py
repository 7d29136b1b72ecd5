"""Every way a server or the network can fail becomes one SyncError with its exit code.

A transport swapped in (httpx.MockTransport) plays the misbehaving server; the URL checks
need no server at all.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from msante.errors import (
    BadServerAnswer,
    ExitCode,
    InsecureServer,
    LoginRefused,
    ServerBusy,
    ServerNotFound,
    ServerUnreachable,
    SyncError,
)
from msante.sync import client as client_module
from msante.sync.client import Client, check_url
from msante.sync.crypto import SigningKey

Handler = Callable[[httpx.Request], httpx.Response]


def serving(handler: Handler) -> Client:
    """A client of https://sync.test whose answers come from `handler`."""
    return Client("https://sync.test", transport=httpx.MockTransport(handler))


def problem(status: int, detail: str) -> httpx.Response:
    """An RFC 9457 answer, as the server sends them."""
    body = {"type": "urn:msante:problem:x", "title": "x", "status": status, "detail": detail}
    return httpx.Response(status, content=json.dumps(body).encode(),
                          headers={"Content-Type": "application/problem+json"})


def raises(handler: Handler, kind: type[SyncError], code: ExitCode) -> str:
    """The one-line message of the error `health()` raised (of type `kind`, exit `code`)."""
    with serving(handler) as c, pytest.raises(kind) as caught:
        c.health()
    assert caught.value.exit_code == code
    assert "\n" not in caught.value.message
    return caught.value.message


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8765", "http://127.5.6.7", "http://localhost:8765/", "http://[::1]:9",
    "https://sync.example.org", "https://sync.example.org/msante/",
])
def test_loopback_and_https_are_accepted(url: str) -> None:
    """Plain HTTP is fine to this machine; HTTPS anywhere. A trailing slash is dropped."""
    assert check_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://sync.example.invalid:8765", "http://sync.example.org",
                                 "http://[2001:db8::1]/", "http://localhost.example.org"])
def test_plain_http_off_loopback_is_refused(url: str) -> None:
    # (pure checks: nothing is sent; the names are reserved ones that never resolve)
    """Someone on the way could read or change the traffic: exit 2 unless insecure."""
    with pytest.raises(InsecureServer) as caught:
        check_url(url)
    assert caught.value.exit_code == ExitCode.USAGE and "--insecure" in caught.value.message
    assert check_url(url, insecure=True) == url.rstrip("/")


@pytest.mark.parametrize("url", ["ftp://sync.example.org", "sync.example.org", "", "https://",
                                 "https://me:secret@sync.example.org", "https://h/?token=x",
                                 "https://h/#x", "http://[::1", "https://h:99999",
                                 "https://h:0"])
def test_what_is_no_server_url_is_refused(url: str) -> None:
    """Other schemes, no host, credentials or a query in the URL: exit 2, never a traceback."""
    with pytest.raises(InsecureServer) as caught:
        check_url(url)
    assert caught.value.exit_code == ExitCode.USAGE
    assert "secret" not in caught.value.message  # a password typed in the URL is not echoed


def test_a_refused_connection_is_unreachable() -> None:
    """No server listening: exit 1, saying which address."""
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
    message = raises(refuse, ServerUnreachable, ExitCode.ERROR)
    assert "https://sync.test" in message and "refused" in message


def test_a_timeout_is_unreachable() -> None:
    """A server that never answers: exit 1, not a hang (timeouts are set)."""
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)
    assert "in time" in raises(hang, ServerUnreachable, ExitCode.ERROR)
    with Client("https://h") as c:
        assert c._http.timeout.read == client_module.TIMEOUT.read is not None


@pytest.mark.parametrize("response", [
    httpx.Response(200, text="<html>hello</html>", headers={"Content-Type": "text/html"}),
    httpx.Response(200, content=b"{not json", headers={"Content-Type": "application/json"}),
    httpx.Response(200, json=[1, 2]),
    httpx.Response(200, json={"status": "ok"}),  # no server id
    httpx.Response(200, json={"status": "down", "server": "s", "api": "v1"}),
    httpx.Response(500, text="Internal Server Error"),
    httpx.Response(302, headers={"Location": "http://evil.example/"}),
    httpx.Response(200, content=b"\xff\xfe", headers={"Content-Type": "application/json"}),
])
def test_garbage_is_a_bad_answer(response: httpx.Response) -> None:
    """Anything that is not the API (HTML, broken JSON, a redirect, no problem report): exit 6."""
    raises(lambda request: response, BadServerAnswer, ExitCode.INTEGRITY)


def test_no_http_at_all_is_a_bad_answer() -> None:
    """A peer that does not speak HTTP: exit 6, not a library traceback."""
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("illegal status line", request=request)
    assert "valid HTTP" in raises(broken, BadServerAnswer, ExitCode.INTEGRITY)


def test_an_endless_answer_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server cannot fill the device's memory: the body is read up to a bound."""
    monkeypatch.setattr(client_module, "MAX_ANSWER", 1000)
    big = httpx.Response(200, content=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert "too large" in raises(lambda r: big, BadServerAnswer, ExitCode.INTEGRITY)


def test_a_404_on_health_is_no_msante_server() -> None:
    """A web server that is not ours (a wrong address): exit 5, 'check the address'."""
    message = raises(lambda r: httpx.Response(404, text="Not Found"), ServerNotFound,
                     ExitCode.NOT_FOUND)
    assert "check the address" in message


@pytest.mark.parametrize(("status", "kind", "code"), [
    (429, ServerBusy, ExitCode.BUSY), (503, ServerBusy, ExitCode.BUSY),
    (409, ServerBusy, ExitCode.BUSY), (401, LoginRefused, ExitCode.WRONG_KEY),
    (413, SyncError, ExitCode.ERROR), (422, SyncError, ExitCode.ERROR),
    (500, SyncError, ExitCode.ERROR),
])
def test_a_problem_carries_its_detail(status: int, kind: type[SyncError], code: ExitCode) -> None:
    """The server's problem detail reaches the person, on one line, with the exit code."""
    detail = "Too many requests: wait 3 s.\nSecond line"
    message = raises(lambda r: problem(status, detail), kind, code)
    assert "Too many requests: wait 3 s. Second line" in message


def test_a_long_detail_is_shortened() -> None:
    """A server cannot flood the terminal through a problem's detail."""
    message = raises(lambda r: problem(400, "x" * 10_000), SyncError, ExitCode.ERROR)
    assert len(message) < 500


def test_the_token_goes_in_a_header_only() -> None:
    """The bearer token travels in Authorization, never in the URL (which may be logged)."""
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/v1/login/challenge":
            return httpx.Response(200, json={"challenge": "c" * 43, "expires": 1})
        if path == "/v1/login":
            return httpx.Response(200, json={"token": "sekrit-token", "expires": 1})
        return httpx.Response(201, json={"space": "s"})
    with serving(server) as c:
        c.login("acc", "dev", SigningKey.generate(), "srv")
        assert c.create_space("s") is True
    assert seen[-1].headers["Authorization"] == "Bearer sekrit-token"
    assert all("sekrit" not in str(r.url) for r in seen)


def test_a_refused_login_says_so() -> None:
    """401 at login: exit 4 with the server's reason."""
    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/login/challenge":
            return httpx.Response(200, json={"challenge": "c", "expires": 1})
        return problem(401, "Login failed: bad signature.")
    with serving(server) as c, pytest.raises(LoginRefused) as caught:
        c.login("acc", "dev", SigningKey.generate(), "srv")
    assert caught.value.message == ("The server refused this device's login: "
                                    "Login failed: bad signature.")


def test_a_push_answered_with_too_few_results_is_a_bad_answer() -> None:
    """One result per item, or the server is not to be believed."""
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": []})
    c = serving(server)
    c._token = "t"
    with c, pytest.raises(BadServerAnswer):
        c.push("s", [{"record": "r", "ciphertext": b"x"}])


def test_a_pull_whose_token_does_not_move_stops() -> None:
    """A server saying 'more' forever without moving on cannot keep the client looping."""
    def server(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": [], "next": "same", "more": True})
    c = serving(server)
    c._token = "t"
    with c, pytest.raises(BadServerAnswer):
        list(c.pull("s", since="same"))


@pytest.mark.parametrize("text", ["!!!", "a", "ab=", "ab+/", 12, None])
def test_binary_fields_are_strict_base64url(text: object) -> None:
    """Characters outside base64url are not skipped silently: the answer is refused."""
    with pytest.raises(BadServerAnswer):
        client_module.unb64(text)
    assert client_module.unb64(client_module.b64(b"\xfb\xff")) == b"\xfb\xff"


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A key and a self-signed certificate for 127.0.0.1 (no authority vouches for it)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    key_path, cert_path = tmp / "key.pem", tmp / "cert.pem"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path: Path) -> None:
    """HTTPS to a server whose certificate no trusted authority signed: exit 1, the TLS
    reason given, nothing sent (a network attacker's certificate looks like this)."""
    key_path, cert_path = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once() -> None:
        conn, _ = listener.accept()
        with conn, contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
            pass
    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    try:
        with Client(f"https://127.0.0.1:{port}") as c, pytest.raises(ServerUnreachable) as caught:
            c.health()
    finally:
        thread.join(5)
        listener.close()
    assert caught.value.exit_code == ExitCode.ERROR
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.5.6.7", True), ("::1", True), ("localhost", True),
    ("LOCALHOST", True), ("192.0.2.7", False), ("10.0.0.1", False), ("128.0.0.1", False),
    ("2001:db8::1", False), ("localhost.example.org", False), ("127.0.0.1.example.org", False),
])
def test_which_hosts_are_this_machine(host: str, loopback: bool) -> None:
    """Only 127.0.0.0/8, ::1 and localhost are this machine (no address is contacted)."""
    from msante.sync.client import is_loopback

    assert is_loopback(host) is loopback
