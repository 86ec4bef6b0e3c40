"""Importing the meta-analysis (every page's URLconf does, through the evidence view) loads
neither scipy nor statsmodels: they cost about two seconds of start-up for every server worker,
command and test worker, and only the functions that pool trials need them."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_meta_analysis_loads_no_scipy_or_statsmodels() -> None:
    code = (
        "import sys, acuknee.evidence.meta, acuknee.evidence.data; "
        "print(sorted(m for m in ('scipy', 'statsmodels', 'pandas') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout
