"""The review server over real HTTP: the token, escaping, labelling, errors."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from mdfs.errors import UserError
from mdfs.review.app import ReviewApp, ReviewServer, make_server
from mdfs.review.store import LabelStore, ReviewPaths, ensure_sample
from tests.review.fake_run import HOSTILE_ID, FakeRun, serve


@dataclass
class Served:
    server: ReviewServer
    run: FakeRun

    @property
    def cookie(self) -> str:
        return f"{self.server.app.token_cookie}={self.server.app.token}"

    def fetch(
        self, method: str, path: str, form: dict[str, str] | None = None, cookie: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPResponse, str]:  # fmt: skip
        """A request as the review page's own forms send it (with their form token)."""
        host, port = self.server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=10)
        headers = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
        body = None
        if form is not None:
            body = urlencode({"form_token": self.server.app.form_token, **form})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        return response.status, response, text


@pytest.fixture
def served(fake_run: FakeRun) -> Iterator[Served]:
    server = serve(fake_run)
    yield Served(server, fake_run)
    server.shutdown()
    server.server_close()


def test_every_request_needs_the_token(served: Served) -> None:
    for method, path in [("GET", "/"), ("GET", "/agreement"), ("GET", "/export.jsonl"),
                         ("GET", "/style.css"), ("GET", "/?token=wrong"), ("GET", "/?token=%C3%A9")]:  # fmt: skip
        status, _, _ = served.fetch(method, path)
        assert status == 403, path
    status, _, _ = served.fetch("POST", "/label", {"id": HOSTILE_ID, "label": "low"})
    assert status == 403
    status, _, _ = served.fetch("GET", "/", cookie=f"{served.server.app.token_cookie}=wrong")
    assert status == 403
    assert not ReviewPaths(served.run.root).labels.exists()

    token = served.server.app.token
    status, response, _ = served.fetch("GET", f"/agreement?token={token}")
    assert status == 303
    assert response.getheader("Location") == "/agreement"  # the token leaves the address bar
    cookie = response.getheader("Set-Cookie")
    assert cookie.startswith(served.cookie + ";") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    status, response, _ = served.fetch("GET", "/agreement", cookie=served.cookie)
    assert status == 200
    assert "script-src" not in response.getheader("Content-Security-Policy")
    assert "default-src 'none'" in response.getheader("Content-Security-Policy")


def test_document_text_is_escaped(served: Served) -> None:
    status, _, page = served.fetch("GET", f"/?id={HOSTILE_ID}", cookie=served.cookie)
    assert status == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&quot;&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in page  # the source field
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&amp;amp;" in page  # `&amp;` in the text is shown as typed


def test_labels_are_recorded_and_exported(served: Served) -> None:
    status, _, page = served.fetch("GET", "/", cookie=served.cookie)
    first = served.server.app.sample.entries[0]
    assert status == 200 and f'value="{first.id}"' in page
    status, response, _ = served.fetch(
        "POST", "/label", {"id": first.id, "label": "ad"}, cookie=served.cookie
    )
    assert status == 303 and response.getheader("Location") == "/"
    _, _, page = served.fetch("GET", "/", cookie=served.cookie)
    second = served.server.app.sample.entries[1]
    assert f'value="{second.id}"' in page and "1 of" in page

    assert served.fetch("POST", "/label", {"id": "nope", "label": "ad"}, served.cookie)[0] == 400
    assert served.fetch("POST", "/label", {"id": second.id, "label": "x"}, served.cookie)[0] == 400
    assert served.fetch("GET", "/nothing", cookie=served.cookie)[0] == 404
    assert served.fetch("GET", "/label", cookie=served.cookie)[0] == 405

    # Another name, through the page: the labels are kept apart.
    status, response, _ = served.fetch("POST", "/reviewer", {"name": "王芳"}, served.cookie)
    reviewer_cookie = response.getheader("Set-Cookie").split(";")[0]
    both = f"{served.cookie}; {reviewer_cookie}"
    served.fetch("POST", "/label", {"id": first.id, "label": "low"}, cookie=both)
    assert served.server.app.store.latest() == {
        ("tester", first.id): "ad",
        ("王芳", first.id): "low",
    }
    _, _, page = served.fetch("GET", "/agreement", cookie=both)
    assert "王芳" in page and "Cohen" in page
    status, response, body = served.fetch("GET", "/export.jsonl", cookie=both)
    assert status == 200 and "attachment" in response.getheader("Content-Disposition")
    assert body == ""  # the two reviewers tie on the one document


def test_a_port_in_use_is_a_user_error(fake_run: FakeRun) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sample, summary, _ = ensure_sample(fake_run.root, 0.05, 0, None)
        app = ReviewApp(sample, LabelStore(ReviewPaths(fake_run.root).labels), summary, "t")
        with pytest.raises(UserError, match=f"port {port} .* in use"):
            make_server(app, "127.0.0.1", port)


def _interruptible() -> None:
    """In the child, before exec: SIGINT delivered and at its default, as from a terminal. A
    test process can run with SIGINT ignored (a suite started as `cmd &` by a script) or
    blocked (a library's thread left it so); a child inherits both and would never see the
    Ctrl-C this test sends. A full CI run once hung here that way."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_the_command_prints_the_address_and_serves(fake_run: FakeRun) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mdfs.cli", "review", str(fake_run.root), "--port", "0",
         "--fraction", "0.1", "--reviewer", "ann"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_interruptible,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        drawn = process.stdout.readline()
        assert drawn.startswith("sampled ") and "of 181 fine-stage decisions" in drawn
        address = process.stdout.readline().split()
        assert address[0] == "open"
        url = urlsplit(address[1])
        assert url.hostname == "127.0.0.1" and url.query.startswith("token=")
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().status == 403
        connection.close()
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        connection.request("GET", f"/?{url.query}")
        response = connection.getresponse()
        assert response.status == 303 and response.getheader("Set-Cookie")
        connection.close()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)  # a loaded machine answers slowly
    assert process.returncode == 0 and "stopped; labels are in" in err


def raw_request(served: Served, request: bytes) -> bytes:
    host, port = served.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: connection.recv(65536), b""))


def test_a_post_from_another_page_is_refused(served: Served) -> None:
    first = served.server.app.sample.entries[0].id
    host, port = served.server.server_address[:2]
    label = {"id": first, "label": "ad"}
    # the page's own form, as a browser sends it: accepted
    own = {"Origin": f"http://{host}:{port}"}
    assert served.fetch("POST", "/label", label, served.cookie, own)[0] == 303
    # a page elsewhere (another port of 127.0.0.1 is same-site): the cookie goes along
    for headers in (
        {"Origin": "http://evil.example"},
        {"Origin": f"http://{host}:{port + 1}"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},  # a no-referrer page on another port
    ):
        status, _, _ = served.fetch("POST", "/label", label, served.cookie, headers)
        assert status == 403, headers
    # Referrer-Policy no-referrer makes the browser send Origin: null for the page's own forms
    own_null = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    assert served.fetch("POST", "/label", label, served.cookie, own_null)[0] == 303
    # without the form token, which only the server's pages hold
    body = urlencode(label).encode()
    response = raw_request(
        served,
        b"POST /label HTTP/1.1\r\nHost: x\r\nCookie: " + served.cookie.encode()
        + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )  # fmt: skip
    assert response.startswith(b"HTTP/1.0 403")
    status, _, _ = served.fetch(
        "POST", "/reviewer", {"name": "x"}, served.cookie, {"Origin": "http://evil.example"}
    )
    assert status == 403
    assert served.server.app.store.latest() == {("tester", first): "ad"}


def test_a_malformed_content_length_is_a_400(served: Served) -> None:
    for length in (b"abc", b"1e3", b"-1", b"\xd9\xa3"):
        response = raw_request(
            served,
            b"POST /label HTTP/1.1\r\nHost: x\r\nCookie: " + served.cookie.encode()
            + b"\r\nContent-Length: " + length + b"\r\n\r\nid=1",
        )  # fmt: skip
        assert response.startswith(b"HTTP/1.0 400"), (length, response[:40])


def test_an_idle_connection_is_closed(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    from mdfs.review import app

    assert app.Handler.timeout is not None and app.Handler.timeout <= 60
    monkeypatch.setattr(app.Handler, "timeout", 0.5)  # the same mechanism, sooner
    host, port = served.server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(b"POST /label HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nid=")
        assert connection.recv(1) == b""  # the server hung up instead of waiting for ever


def test_the_token_redirect_stays_on_this_server(served: Served) -> None:
    token = served.server.app.token
    port = served.server.server_address[1]
    for path in ("/\\evil.example", "//evil.example", "/%5Cevil.example", "/\\/evil.example"):
        status, response, _ = served.fetch("GET", f"{path}?token={token}")
        location = response.getheader("Location")
        # as a browser reads it: backslashes are slashes in a URL
        target = urljoin(f"http://127.0.0.1:{port}/", location.replace("\\", "/"))
        assert status == 303 and urlsplit(target).netloc == f"127.0.0.1:{port}", (path, location)
    status, response, _ = served.fetch("GET", f"/agreement?token={token}")
    assert response.getheader("Location") == "/agreement"
