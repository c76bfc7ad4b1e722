#!/usr/bin/env bash
# The test command: lint, format check, strict typing, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src
.venv/bin/pytest "$@"
