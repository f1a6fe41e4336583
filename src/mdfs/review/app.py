"""The review web app: standard-library HTTP server, server-rendered HTML, no JavaScript.

Crawled text is hostile, so every value that reaches a page goes through `esc`, pages carry
a Content-Security-Policy that allows no script at all, and every request must carry the
token printed at start (in the URL once, then in a cookie). A POST must also carry the form
token that only this server's own pages hold, and come from this server's origin: the cookie
alone would let any page on another port of 127.0.0.1 (same-site for SameSite=Strict) label
in the reviewer's name. The server binds to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import errno
import html
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from mdfs.errors import UserError
from mdfs.review.agreement import Agreement, measure
from mdfs.review.sampling import CLASSES
from mdfs.review.store import CHOICES, SKIP, LabelStore, Sample, by_reviewer, corrections

log = logging.getLogger(__name__)

MAX_SHOWN_CHARS = 20_000  # a 10 MB page would stall the browser; the start says enough
MAX_BODY_BYTES = 16_384
SOCKET_TIMEOUT_S = 30  # a client that stops sending must not hold a thread for ever
LOCAL_PATH = re.compile(r"/[\w./-]*")  # where a redirect may point: a path here, not //host
REVIEWER_NAME = re.compile(r"[\w.@ -]{1,64}")
ACCESS_KEYS = {"high": "h", "low": "l", "ad": "a", SKIP: "s"}

SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),  # the token must not leak to a page a reviewer opens
    ("Cache-Control", "no-store"),
]

STYLE = b"""
body { font-family: sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; }
nav a { margin-right: 1rem; }
pre.text { white-space: pre-wrap; word-break: break-word; background: #f6f6f6;
  padding: 1rem; border: 1px solid #ddd; font-size: 1.05rem; line-height: 1.6; }
.meta { color: #555; font-size: 0.9rem; word-break: break-all; }
.labels button { font-size: 1.1rem; padding: 0.4rem 1.2rem; margin-right: 0.5rem; }
.model { font-weight: bold; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    cookies: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)
    origin: str | None = None  # the Origin header: which site's page sent this request
    host: str | None = None  # the Host header
    fetch_site: str | None = None  # Sec-Fetch-Site: same-origin, same-site, cross-site, none


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> Response:
    # 303: after a POST the browser GETs the next page, so a reload never labels twice.
    return Response(303, b"", headers=[("Location", location), *(headers or [])])


class ReviewApp:
    def __init__(
        self, sample: Sample, store: LabelStore, summary: dict[str, Any], reviewer: str,
        token: str | None = None,
    ) -> None:  # fmt: skip
        self.sample = sample
        self.store = store
        self.summary = summary
        self.default_reviewer = reviewer
        self.token = token or secrets.token_urlsafe(24)
        self.form_token = secrets.token_urlsafe(24)  # in this server's forms only, never a cookie
        self.port = 0

    # Cookies are per host, not per port: name them by port, so two review servers on one
    # machine do not overwrite each other's token.
    @property
    def token_cookie(self) -> str:
        return f"mdfs_review_{self.port}"

    @property
    def reviewer_cookie(self) -> str:
        return f"mdfs_reviewer_{self.port}"

    def cookie(self, name: str, value: str) -> tuple[str, str]:
        return ("Set-Cookie", f"{name}={value}; Path=/; HttpOnly; SameSite=Strict")

    def is_token(self, given: str) -> bool:
        # Bytes: compare_digest refuses non-ASCII str, and a stranger's guess must get a 403.
        return secrets.compare_digest(given.encode(), self.token.encode())

    def is_forged(self, request: Request) -> bool:
        """A POST not sent by a form of this server: without the form token (which a page
        elsewhere cannot read), or, as the browser tells, from another site or origin.
        (With Referrer-Policy no-referrer a browser sends `Origin: null` even for this
        server's own forms, so null proves nothing either way.)"""
        given = request.form.get("form_token", "")
        if not secrets.compare_digest(given.encode(), self.form_token.encode()):
            return True
        if request.fetch_site in ("same-site", "cross-site"):
            return True
        if request.origin in (None, "null"):
            return False
        return request.origin != f"http://{request.host}"

    def handle(self, request: Request) -> Response:
        given = request.query.get("token")
        if given is not None and self.is_token(given):
            # Trade the token in the URL for a cookie, and drop it from the address bar.
            rest = {k: v for k, v in request.query.items() if k != "token"}
            # only a path of this server: browsers read `/\\evil.example` as //evil.example
            path = request.path if LOCAL_PATH.fullmatch(request.path) else "/"
            path = "/" if path.startswith("//") else path
            location = path + (f"?{urlencode(rest)}" if rest else "")
            return redirect(location, [self.cookie(self.token_cookie, self.token)])
        if not self.is_token(request.cookies.get(self.token_cookie, "")):
            return self.error(403, "Forbidden: open the address `mdfs review` printed at start.")

        if request.method == "POST" and self.is_forged(request):
            return self.error(403, "Forbidden: send labels from the review page itself.")
        reviewer = self.reviewer_of(request)
        routes: dict[tuple[str, str], Callable[[Request, str], Response]] = {
            ("GET", "/"): self.document_page,
            ("POST", "/label"): self.label,
            ("POST", "/reviewer"): self.set_reviewer,
            ("GET", "/agreement"): self.agreement_page,
            ("GET", "/export"): self.export_page,
            ("GET", "/export.jsonl"): self.export_file,
            ("GET", "/style.css"): lambda _request, _reviewer: Response(
                200, STYLE, "text/css; charset=utf-8"
            ),
        }
        route = routes.get((request.method, request.path))
        if route is None:
            known = any(path == request.path for _, path in routes)
            return self.error(405 if known else 404, "Not found.")
        return route(request, reviewer)

    def reviewer_of(self, request: Request) -> str:
        name = unquote(request.cookies.get(self.reviewer_cookie, ""))
        return name if REVIEWER_NAME.fullmatch(name) else self.default_reviewer

    # --- pages -------------------------------------------------------------------------

    def document_page(self, request: Request, reviewer: str) -> Response:
        mine = by_reviewer(self.store.latest(), reviewer)
        doc_id = request.query.get("id")
        if doc_id is None:
            doc_id = next((e.id for e in self.sample.entries if e.id not in mine), None)
            if doc_id is None:
                body = (
                    f"<p>You have labelled all {len(self.sample)} sampled documents. "
                    '<a href="/agreement">See the agreement</a> or '
                    '<a href="/export">export the labels</a>.</p>'
                )
                return self.page("All done", body, reviewer, mine)
        if doc_id not in self.sample.by_id:
            return self.error(404, "No such document in the sample.")
        record = self.sample.record(doc_id)
        position = self.sample.by_id[doc_id].position
        text = record["text"]
        shown = text[:MAX_SHOWN_CHARS]
        cut = (
            f'<p class="meta">Showing {len(shown):,} of {len(text):,} characters.</p>'
            if len(shown) < len(text)
            else ""
        )
        status = (
            f"removed by {esc(record.get('removed_by'))} ({esc(record.get('reason'))})"
            if record.get("removed_by")
            else "kept"
        )
        scores = " · ".join(
            f"{esc(label)} {record['scores'].get(label, 0.0):.3f}" for label in CLASSES
        )
        current = mine.get(doc_id)
        current_html = (
            f' · your label: <strong id="your-label">{esc(current)}</strong>' if current else ""
        )
        buttons = "".join(
            f'<button type="submit" name="label" value="{esc(choice)}" '
            f'accesskey="{ACCESS_KEYS[choice]}">{esc(choice)}</button>'
            for choice in CHOICES
        )
        body = f"""
<p class="meta" id="doc-meta">Document {position} of {len(self.sample)} · id <code>{esc(doc_id)}</code>
 · stratum {esc(record.get("stratum"))} · {status}<br>
source: {esc(record.get("source"))}<br>url: {esc(record.get("url"))}</p>
<p>Model: <span class="model" id="model-label">{esc(record["model_label"])}</span>
 ({scores})
{current_html}</p>
<form method="post" action="/label" class="labels">
<input type="hidden" name="id" value="{esc(doc_id)}">
<input type="hidden" name="form_token" value="{esc(self.form_token)}">
{buttons}
</form>
{cut}<pre class="text" id="text">{esc(shown)}</pre>
"""
        return self.page(f"Document {position}", body, reviewer, mine)

    def label(self, request: Request, reviewer: str) -> Response:
        doc_id = request.form.get("id", "")
        choice = request.form.get("label", "")
        if doc_id not in self.sample.by_id or choice not in CHOICES:
            return self.error(400, "Unknown document or label.")
        self.store.add(reviewer, doc_id, choice, self.sample.by_id[doc_id].model_label)
        return redirect("/")

    def set_reviewer(self, request: Request, reviewer: str) -> Response:
        name = request.form.get("name", "").strip()
        if not REVIEWER_NAME.fullmatch(name):
            return self.error(400, "A reviewer name is 1-64 letters, digits, spaces or . @ - _")
        return redirect("/", [self.cookie(self.reviewer_cookie, quote(name))])

    def agreement_page(self, request: Request, reviewer: str) -> Response:
        latest = self.store.latest()
        model_labels = {e.id: e.model_label for e in self.sample.entries}
        result = measure(latest, model_labels)
        reviewed = Counter(
            self.sample.by_id[doc_id].stratum
            for doc_id in {doc_id for (_, doc_id), label in latest.items() if label != SKIP}
            if doc_id in self.sample.by_id
        )
        body = agreement_html(result) + strata_html(self.summary, reviewed)
        return self.page("Agreement", body, reviewer, by_reviewer(latest, reviewer))

    def export_page(self, request: Request, reviewer: str) -> Response:
        _, result = corrections(self.sample, self.store)
        run_dir = self.sample.path.parent.parent
        body = f"""
<p>{result.written} labelled documents (majority over reviewers, skips left out;
{result.ties} left out because reviewers tied).</p>
<p><a href="/export.jsonl" id="download">Download corrections.jsonl</a>: one JSON object a line,
<code>text</code>, <code>label</code>, <code>id</code>, <code>model_label</code>.</p>
<p>Without the server: <code>mdfs review {esc(run_dir)} --export corrections.jsonl</code>,
then <code>mdfs train-classifier --data corrections.jsonl --output MODEL_DIR</code>.</p>
"""
        return self.page("Export", body, reviewer, by_reviewer(self.store.latest(), reviewer))

    def export_file(self, request: Request, reviewer: str) -> Response:
        lines, _ = corrections(self.sample, self.store)
        return Response(
            200,
            b"".join(lines),
            "application/x-ndjson; charset=utf-8",
            [("Content-Disposition", 'attachment; filename="corrections.jsonl"')],
        )

    # --- layout ------------------------------------------------------------------------

    def page(self, title: str, body: str, reviewer: str, mine: dict[str, str]) -> Response:
        done = sum(1 for doc_id in mine if doc_id in self.sample.by_id)
        document = f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8">
<title>{esc(title)} · mdfs review</title>
<link rel="stylesheet" href="/style.css"></head>
<body>
<nav><a href="/">Label</a><a href="/agreement">Agreement</a><a href="/export">Export</a></nav>
<form method="post" action="/reviewer" class="meta">Reviewing as
<input name="name" value="{esc(reviewer)}" size="16" aria-label="reviewer">
<input type="hidden" name="form_token" value="{esc(self.form_token)}">
<button type="submit">change</button>
· <span id="progress">{done} of {len(self.sample)} labelled</span></form>
<h1>{esc(title)}</h1>
{body}
</body></html>"""
        return Response(200, document.encode())

    def error(self, status: int, message: str) -> Response:
        body = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{status}</title></head>"
            f"<body><p>{esc(message)}</p></body></html>"
        )
        return Response(status, body.encode())


def agreement_html(result: Agreement) -> str:
    header = "".join(f"<th>model: {esc(c)}</th>" for c in CLASSES)
    confusion = "".join(
        f"<tr><td>person: {esc(person)}</td>"
        + "".join(f"<td>{result.confusion[person][model]}</td>" for model in CLASSES)
        + "</tr>"
        for person in CLASSES
    )
    classes = "".join(
        f"<tr><td>{esc(c.label)}</td><td>{c.model_n}</td><td>{percent(c.precision)}</td>"
        f"<td>{c.person_n}</td><td>{percent(c.recall)}</td></tr>"
        for c in result.classes.values()
    )
    reviewers = ", ".join(f"{esc(name)} ({n})" for name, n in sorted(result.reviewers.items()))
    pairs = "".join(
        f"<tr><td>{esc(p.first)} · {esc(p.second)}</td><td>{p.common}</td>"
        f"<td>{percent(p.agreement)}</td><td>{number(p.kappa)}</td></tr>"
        for p in result.pairs
    )
    pairs_html = (
        "<h2>Between reviewers</h2><table id='pairs'><tr><th>reviewers</th><th>both labelled"
        f"</th><th>agreement</th><th>Cohen's κ</th></tr>{pairs}</table>"
        if result.pairs
        else ""
    )
    return f"""
<p id="overall">{result.judgements} labels (skips left out) by {len(result.reviewers)}
reviewer(s){": " + reviewers if reviewers else ""}. People agree with the model on
{percent(result.rate)}; Cohen's κ people vs model {number(result.kappa)}.</p>
<h2>Per class</h2>
<table id="classes"><tr><th>class</th><th>model said</th><th>person agreed</th>
<th>people said</th><th>model agreed</th></tr>{classes}</table>
<h2>Confusion (rows: person, columns: model)</h2>
<table id="confusion"><tr><th></th>{header}</tr>{confusion}</table>
{pairs_html}"""


def strata_html(summary: dict[str, Any], reviewed: Counter[str]) -> str:
    strata = summary.get("strata") or {}
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{s['confidence'][0]:.3f}–{s['confidence'][1]:.3f}</td>"
        f"<td>{s['size']}</td><td>{s['sampled']}</td><td>{reviewed[name]}</td></tr>"
        for name, s in sorted(strata.items())
    )
    return f"""
<h2>Sample</h2>
<p>{esc(summary.get("sampled", "?"))} of {esc(summary.get("decisions", "?"))} fine-stage
decisions (fraction {esc(summary.get("fraction", "?"))}, seed {esc(summary.get("seed", "?"))}),
stratified by model label and confidence quantile.</p>
<table id="strata"><tr><th>stratum</th><th>confidence</th><th>decisions</th><th>sampled</th>
<th>reviewed</th></tr>
{rows}</table>"""


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "mdfs-review"
    sys_version = ""
    timeout = SOCKET_TIMEOUT_S

    def do_GET(self) -> None:
        self.serve("GET")

    def do_POST(self) -> None:
        self.serve("POST")

    def serve(self, method: str) -> None:
        url = urlsplit(self.path)
        cookies: dict[str, str] = {}
        try:
            jar = SimpleCookie(self.headers.get("Cookie", ""))
            cookies = {name: morsel.value for name, morsel in jar.items()}
        except CookieError:
            pass
        request = Request(
            method, url.path, dict(parse_qsl(url.query)), cookies,
            origin=self.headers.get("Origin"), host=self.headers.get("Host"),
            fetch_site=self.headers.get("Sec-Fetch-Site"),
        )  # fmt: skip
        if method == "POST":
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not declared.isascii() or not declared.isdigit():  # "abc", "1e3", "-1"
                self.close_connection = True
                self.send(Response(400, b"Bad Content-Length."))
                return
            length = int(declared)
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self.send(Response(413, b"Request too large."))
                return
            raw = self.rfile.read(length).decode("utf-8", "replace")
            request.form = dict(parse_qsl(raw))
        try:
            response = self.server.app.handle(request)
        except Exception:
            log.exception("review: %s %s failed", method, url.path)
            response = Response(500, b"Internal error; see the server's log.")
        self.send(response)

    def send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in SECURITY_HEADERS + response.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default log line holds the URL, and the first URL holds the token.
        log.debug("review: %s", self.command)


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: ReviewApp, host: str, port: int) -> None:
        self.app = app
        super().__init__((host, port), Handler)
        app.port = self.server_address[1]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/?token={self.app.token}"


def make_server(app: ReviewApp, host: str, port: int) -> ReviewServer:
    try:
        return ReviewServer(app, host, port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UserError(
                f"port {port} on {host} is in use; choose another with --port (0: any free port)"
            ) from None
        raise UserError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
