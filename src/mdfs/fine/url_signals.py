"""URL signals: the shape of a document's host and path, and blocked-domain hits.

Station groups (站群) publish the same spun pages on thousands of generated sub-domains
(`8823.example.com`, `x7k2q.example.top`); gambling and porn sites cluster in cheap
top-level domains and on known domain lists; junk paths are long, deep and full of
digits. None of this needs the text, so it is free to compute and independent of the
other signals. Documents without a URL get no `meta["url"]`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr

from mdfs.coarse.keywords import default_lexicon, read_words
from mdfs.document import Document
from mdfs.pipeline import Filter, register

# Cheap generic TLDs that spam and gambling domains favour (Spamhaus's and Interisle's
# yearly "most abused TLDs" lists keep naming these).
CHEAP_TLDS = frozenset(
    [
        "xyz",
        "top",
        "vip",
        "cc",
        "club",
        "win",
        "bet",
        "tk",
        "ml",
        "ga",
        "cf",
        "gq",
        "pw",
        "icu",
        "wang",
        "ren",
        "site",
        "online",
        "live",
        "fun",
        "loan",
        "work",
        "men",
        "cyou",
        "buzz",
        "rest",
        "bar",
        "casino",
        "games",
    ]
)
# second-level labels under which a registrable domain has three labels (example.com.cn)
SECOND_LEVEL = frozenset(["com", "net", "org", "gov", "edu", "ac", "co"])
_DIGITS = re.compile(r"\d+")
_CONSONANTS = re.compile(r"[bcdfghjklmnpqrstvwxz]{4,}")


def _random_looking(label: str) -> bool:
    """A generated label: digits mixed into letters, all digits, or an unpronounceable run."""
    if len(label) < 4 or label in {"www", "wap", "news", "mail", "blog", "shop"}:
        return False
    has_digit = any(c.isdigit() for c in label)
    return has_digit or bool(_CONSONANTS.search(label))


def url_figures(url: str, blocked: set[str]) -> dict[str, float]:
    parts = urlsplit(url if "//" in url else f"http://{url}")
    host = (parts.hostname or "").lower().rstrip(".")
    labels = host.split(".") if host else []
    is_ip = bool(labels) and all(label.isdigit() for label in labels)
    registrable = 3 if len(labels) >= 3 and labels[-2] in SECOND_LEVEL else 2
    subdomains = [] if is_ip else labels[:-registrable]
    path = parts.path or "/"
    digit_runs = [len(run) for run in _DIGITS.findall(host)]
    return {
        "host_chars": len(host),
        "host_labels": len(labels),
        "host_digits": sum(digit_runs),
        "host_max_digit_run": max(digit_runs, default=0),
        "host_is_ip": float(is_ip),
        "random_subdomain": float(any(_random_looking(s) for s in subdomains)),
        "cheap_tld": float(bool(labels) and labels[-1] in CHEAP_TLDS),
        "path_depth": len([p for p in path.split("/") if p]),
        "path_chars": len(path),
        "path_digit_fraction": round(sum(c.isdigit() for c in path) / len(path), 4),
        "query_params": len([q for q in parts.query.split("&") if q]),
        "blocked_domain": float(
            any(".".join(labels[i:]) in blocked for i in range(max(0, len(labels) - 1)))
        ),
    }


@register
class UrlSignals(Filter):
    """Host and path shape and blocked-domain hits of the document's URL (`meta["url"]`).

    Scores only, unless `remove` is set: then a URL on a blocked domain, or with a
    random-looking sub-domain under a cheap TLD, goes as `low_quality:url`.
    """

    name = "url_signals"
    domain_files: list[str] = Field(
        default_factory=lambda: [default_lexicon("blocked_domains.txt")]
    )
    remove: bool = False

    _blocked: set[str] = PrivateAttr(default_factory=set)

    def setup(self) -> None:
        self._blocked = {w for f in self.domain_files for _, w in read_words(f)}

    thresholds = frozenset({"remove"})

    def measure(self, document: Document) -> None:
        if document.url:
            document.meta["url"] = url_figures(document.url, self._blocked)

    def judge(self, document: Document) -> bool | str:
        figures = document.meta.get("url")
        if not figures:
            return True
        if self.remove and (
            figures["blocked_domain"] or (figures["random_subdomain"] and figures["cheap_tld"])
        ):
            return "low_quality:url"
        return True
