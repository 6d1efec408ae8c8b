"""Hostile-input experiments run in a child process under a memory limit (prlimit --as), so
that a regression cannot take the machine down."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from tests.builders import ROOT

#: Address space for the child: 1.5 GB.
LIMIT = "--as=1500000000"


def run_limited(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` (its ``sys.argv[1:]`` are ``args``) under the memory limit."""
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) is needed to bound hostile-input tests"
    command = [prlimit, LIMIT, sys.executable, "-c", textwrap.dedent(code), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
