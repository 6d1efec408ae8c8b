"""Hostile evidence bundles, checked by `rukun audit check-bundle` in a child process under
a memory limit (prlimit --as): a zip bomb and a history line without end are refused with
a clear message, in bounded memory, never a crash."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.limited import run_limited

CHUNK = b"\0" * (16 << 20)


def check_limited(bundle: Path) -> subprocess.CompletedProcess[str]:
    return run_limited("from engine.cli import main; main()", "audit", "check-bundle", str(bundle))


def bomb(path: Path, member: str, chunks: int, chunk: bytes = CHUNK) -> Path:
    """A zip whose ``member`` inflates to ``chunks`` times ``chunk`` (kilobytes on disk)."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open(member, "w", force_zip64=True) as handle,
    ):
        for _ in range(chunks):
            handle.write(chunk)
    return path


@pytest.mark.parametrize(
    ("member", "chunks", "chunk", "expected"),
    [
        ("documents/" + "0" * 64 + "-lpj.pdf", 136, CHUNK, "zip bomb"),  # 2.1 GiB of zeros
        ("history.jsonl", 8, b"a" * (16 << 20), "line longer than"),  # 128 MiB, no newline
    ],
)
def test_a_hostile_bundle_is_refused_in_bounded_memory(
    tmp_path: Path, member: str, chunks: int, chunk: bytes, expected: str
) -> None:
    bundle = bomb(tmp_path / "hostile.zip", member, chunks, chunk)
    assert bundle.stat().st_size < 16 << 20
    result = check_limited(bundle)
    assert result.returncode == 1, result.stderr[-2000:]
    assert expected in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
