"""What an ingest worker imports is resident in the fork server and in every worker."""

from __future__ import annotations

import json
import subprocess
import sys

from opencasb.ingest import pipeline, worker

HEAVY = ("sqlalchemy", "alembic", "httpx", "typer", "rich", "pydantic", "cryptography")


def test_workers_import_neither_the_store_engine_nor_the_cli_nor_http() -> None:
    code = (
        "import json, sys\n"
        "import opencasb.ingest.worker, opencasb.apps.okta.normalize\n"
        "import opencasb.apps.office365.normalize\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_the_pool_runs_only_worker_functions() -> None:
    # Unpickling a function imports its module in the worker: both must live in `worker`.
    assert pipeline.encode_texts.__module__ == worker.__name__
    assert pipeline.init_worker.__module__ == worker.__name__


def test_the_console_scripts_import_is_light() -> None:
    # multiprocessing re-runs the `opencasb` script (`from opencasb.cli import main`) in
    # every worker it starts: that import must not bring the commands along.
    code = (
        "import json, sys\n"
        "from opencasb.cli import main\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
