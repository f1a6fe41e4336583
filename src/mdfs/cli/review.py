"""CLI: `mdfs review DIR` (the web app) and `mdfs review DIR --export FILE`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from mdfs.errors import UserError

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

EPILOG = """\
Samples the fine stage's decisions once (DIR/review/sample.jsonl; later runs reuse it), then
serves pages to label them; labels are appended to DIR/review/labels.jsonl. Open the printed
address: it carries the token every request needs. --export writes the labels as JSON lines
{"text", "label", "id", "model_label"} for `mdfs train-classifier --data FILE`.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    review = subparsers.add_parser(
        "review",
        help="label a sample of the fine filter's decisions in a local web app",
        description="Human review of the quality classifier's decisions in an `mdfs run` "
        "output DIR: a stratified sample, a page to label it, agreement with the model, and "
        "the labels exported for retraining.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    review.add_argument("run_dir", metavar="DIR", type=Path, help="an `mdfs run` output")
    # None means "not given", so a restart that repeats no option never warns about the sample.
    review.add_argument(
        "--fraction", type=float, default=None, help="share of decisions to sample (0.05)"
    )
    review.add_argument("--seed", type=int, default=None, help="sampling seed (0)")
    review.add_argument(
        "--bins", type=int, default=None, help="confidence quantile bins per class (4)"
    )
    review.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    review.add_argument("--port", type=int, default=8765, help="port (8765; 0: any free port)")
    review.add_argument(
        "--reviewer", default=None, help="your name on the labels (default: login name)"
    )
    review.add_argument(
        "--export", metavar="FILE", type=Path, help="write the labels to FILE and exit"
    )
    review.set_defaults(func=review_command)


def default_reviewer() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "reviewer"


def review_command(args: argparse.Namespace) -> int:
    from mdfs.review.app import REVIEWER_NAME, ReviewApp, make_server
    from mdfs.review.store import LabelStore, ReviewPaths, ensure_sample, export_corrections

    if args.export is not None:
        result = export_corrections(args.run_dir, args.export)
        print(
            f"wrote {result.written} labelled documents to {args.export}"
            + (f" ({result.ties} left out: reviewers tied)" if result.ties else "")
        )
        return 0

    reviewer = args.reviewer or default_reviewer()
    if not REVIEWER_NAME.fullmatch(reviewer):
        raise UserError("--reviewer is 1-64 letters, digits, spaces or . @ - _")
    sample, summary, drawn = ensure_sample(args.run_dir, args.fraction, args.seed, args.bins)
    paths = ReviewPaths(args.run_dir)
    if drawn:
        print(
            f"sampled {summary['sampled']} of {summary['decisions']} fine-stage decisions "
            f"in {len(summary['strata'])} strata into {paths.sample}"
        )
    app = ReviewApp(sample, LabelStore(paths.labels), summary, reviewer)
    server = make_server(app, args.host, args.port)
    if args.host not in LOOPBACK:
        print(
            f"warning: listening on {args.host}, reachable from other machines; "
            "anyone with the token can read the sampled documents",
            file=sys.stderr,
        )
    print(f"open {server.url}", flush=True)
    print(f"labels go to {paths.labels}; Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"stopped; labels are in {paths.labels}", file=sys.stderr)
    finally:
        server.server_close()
    return 0
