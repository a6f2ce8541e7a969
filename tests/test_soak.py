"""The 30-second soak: the Procfile server under mixed load, zero errors, flat memory."""
from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_soak_30_seconds_has_no_errors_and_flat_memory():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--seconds", "30", "--sample", "10"],
                            capture_output=True, text=True, timeout=120)
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2 + 3 + 2  # header, three 10-second rows, summary
    assert lines[-2].startswith("requests: ") and lines[-2].endswith("; errors: 0")
