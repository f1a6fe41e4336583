#!/usr/bin/env bash
# Create .venv and install MDFS with everything its default job and tests use.
# torch is pinned first: a looser requirement would make pip fetch a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[ml,spark,dev]"
# The Spark engine (and its tests) need a JDK, the review app's browser test chromium; .ci/run
# installs both, a user's machine is only told.
command -v java >/dev/null || [ -n "${JAVA_HOME:-}" ] ||
  echo "note: --engine spark needs Java 17+ (apt-get install -y openjdk-17-jre-headless)" >&2
