"""Rendering a template to PDF, bounded: the sandboxed Jinja and WeasyPrint run in a child
process (forked by :mod:`engine.paperwork.server`, which has both loaded) whose address
space is limited and which is killed when it takes too long. A template that loops for ever, builds
a huge text or a page WeasyPrint chokes on costs the child, never the engine; a failure
comes back as :class:`RenderFailed` and nothing is stored.

WeasyPrint fetches nothing: every URL a template names (``<img src>``, ``@import``,
``file:``) is refused, so a template cannot put a server file or an internal address
into a document."""

from __future__ import annotations

import atexit
import pickle
import select
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from engine.errors import RukunError
from engine.paperwork.frames import HEADER, frame
from engine.text import Label

#: The generated HTML may not grow past this many characters.
MAX_HTML = 2_000_000

#: The page every template is set on: A4, the margins and type of an Indonesian letter.
STYLESHEET = """
@page { size: A4; margin: 2.5cm 2cm 2.5cm 2.5cm;
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #444; }
  @bottom-left { content: string(reference); font-size: 8pt; color: #444; } }
html { font-family: "DejaVu Serif", "Liberation Serif", serif; font-size: 11pt;
  line-height: 1.45; color: #000; }
h1, h2, h3 { text-align: center; margin: 0.2em 0; }
h1 { font-size: 14pt; text-transform: uppercase; text-decoration: underline; }
h2 { font-size: 12pt; }
.reference { string-set: reference content(); font-size: 9pt; text-align: center; }
.kop { text-align: center; border-bottom: 3px double #000; padding-bottom: 0.4em;
  margin-bottom: 1em; text-transform: uppercase; font-weight: bold; }
table { border-collapse: collapse; width: 100%; }
table.data td { padding: 0.15em 0.4em; vertical-align: top; }
table.data td:first-child { white-space: nowrap; width: 1%; }
table.grid td, table.grid th { border: 1px solid #000; padding: 0.2em 0.4em; }
.amount { font-weight: bold; }
.words { font-style: italic; }
.signatures { margin-top: 2.5em; width: 100%; }
.signatures td { width: 50%; text-align: center; vertical-align: top; height: 6em; }
.right { text-align: right; }
.center { text-align: center; }
"""


class RenderFailed(RukunError):
    """A template could not be rendered (an error in it, a sandbox refusal, a bound
    reached): the transition does not fire and no file is written."""

    http_status = 422
    kind = "render_failed"


@dataclass(frozen=True)
class Bounds:
    """What one rendering may spend: wall-clock seconds and address space."""

    seconds: float = 20.0
    memory_bytes: int = 1024 * 1024 * 1024


class _Server:
    """The engine process's rendering server (:mod:`engine.paperwork.server`), started
    on the first rendering and again should it have ended; one request at a time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None

    def ask(self, request: dict[str, Any], wait: float) -> tuple[Any, ...]:
        with self.lock:
            for attempt in (1, 2):
                process = self._running()
                try:
                    assert process.stdin is not None and process.stdout is not None
                    process.stdin.write(frame(request))
                    process.stdin.flush()
                    answer = _answer(process.stdout, wait)
                except (OSError, EOFError):
                    self.stop()
                    if attempt == 2:
                        raise
                    continue
                return answer
        raise AssertionError("unreachable")

    def _running(self) -> subprocess.Popen[bytes]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "engine.paperwork.server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
            )
        return self.process

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.kill()
            process.wait()
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()


def _answer(stream: IO[bytes], wait: float) -> tuple[Any, ...]:
    """The server's next answer, or :class:`EOFError` if none comes within ``wait``
    seconds (the server is then stopped and started again)."""
    deadline = time.monotonic() + wait
    data = b""
    needed = HEADER.size
    while len(data) < needed:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            raise EOFError("the rendering server did not answer")
        chunk = stream.read(needed - len(data))
        if not chunk:
            raise EOFError("the rendering server ended")
        data += chunk
        if needed == HEADER.size and len(data) == needed:
            needed += HEADER.unpack(data)[0]
    answer: tuple[Any, ...] = pickle.loads(data[HEADER.size :])
    return answer


_server = _Server()
atexit.register(_server.stop)
#: Time the server may take to start (it loads WeasyPrint), on top of a rendering's own.
STARTUP_SECONDS = 30.0


def render_pdf(
    name: str, text: str, values: Mapping[str, Any], bounds: Bounds | None = None
) -> bytes:
    """Template ``name``'s ``text`` rendered with ``values`` (plain data) to PDF bytes."""
    bounds = bounds or Bounds()
    request = {
        "text": text,
        "values": dict(values),
        "memory_bytes": bounds.memory_bytes,
        "max_html": MAX_HTML,
        "stylesheet": STYLESHEET,
        "seconds": bounds.seconds,
    }
    try:
        outcome = _server.ask(request, bounds.seconds + STARTUP_SECONDS)
    except (OSError, EOFError) as exc:
        raise _failed(
            name,
            Label(f"server pembuat dokumen gagal ({exc})", f"the rendering server failed ({exc})"),
        ) from exc
    if outcome[0] == "ok":
        return bytes(outcome[1])
    if outcome[0] == "timeout":
        reason = Label(
            f"melebihi batas waktu {bounds.seconds:g} detik",
            f"took longer than {bounds.seconds:g} seconds",
        )
    elif outcome[0] == "died":
        reason = Label("kehabisan memori", "ran out of memory")
    else:
        reason = Label(outcome[1], outcome[2])
    raise _failed(name, reason)


def _failed(name: str, reason: Label) -> RenderFailed:
    return RenderFailed(
        Label(
            f"dokumen '{name}' tidak dapat dibuat: {reason.id}; langkah ini tidak dijalankan",
            f"document '{name}' could not be generated: {reason.en}; the step was not taken",
        )
    )
