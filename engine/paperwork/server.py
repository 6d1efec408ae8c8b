"""The rendering server: ``python -m engine.paperwork.server``, started by
:mod:`engine.paperwork.render` once per engine process. It loads Jinja, WeasyPrint and
lokal once, then for each request read from its stdin forks a child that renders
(:func:`engine.paperwork.child.run`) under an address-space limit, kills the child when
its time is up, and writes the outcome to its stdout. Being single-threaded, it forks
safely, which the engine (with its threads and connections) could not.

Requests and answers are pickles framed by their length: the server is the engine's own
child and reads only what its parent writes."""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import time
from typing import Any

from engine.paperwork.frames import frame, read_frame


def forked(child: Any, request: dict[str, Any]) -> tuple[Any, ...]:
    """Render ``request`` in a child; ``("timeout",)`` if it is killed for taking longer
    than ``request["seconds"]``, ``("died",)`` if it ended without an answer (its memory
    ran out past what Python could report)."""
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: render, answer, and leave without running anything else
        os.close(reading)
        try:
            answer = child.run(
                request["text"],
                request["values"],
                request["memory_bytes"],
                request["max_html"],
                request["stylesheet"],
            )
            with os.fdopen(writing, "wb") as out:
                out.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            os._exit(0)
    os.close(writing)
    deadline = time.monotonic() + float(request["seconds"])
    chunks: list[bytes] = []
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([reading], [], [], remaining)[0]:
                os.kill(pid, signal.SIGKILL)
                return ("timeout",)
            chunk = os.read(reading, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(reading)
        os.waitpid(pid, 0)
    if not chunks:
        return ("died",)
    try:
        outcome: tuple[Any, ...] = pickle.loads(b"".join(chunks))
    except (pickle.UnpicklingError, EOFError):
        return ("died",)
    return outcome


def main() -> None:
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints must not break the frames
    child: Any = None
    try:
        from engine.paperwork import child
    except (ImportError, OSError) as exc:  # WeasyPrint without Pango, most often
        missing = f"{type(exc).__name__}: {exc}"
    while True:
        request = read_frame(requests)
        if request is None:
            return
        if child is None:
            answer: tuple[Any, ...] = (
                "error",
                f"WeasyPrint tidak dapat dimuat ({missing}); pasang Pango "
                "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)",
                f"WeasyPrint cannot be loaded ({missing}); install Pango "
                "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)",
            )
        else:
            answer = forked(child, request)
        answers.write(frame(answer))
        answers.flush()


if __name__ == "__main__":
    main()
