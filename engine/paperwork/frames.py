"""How the engine and its rendering server (:mod:`engine.paperwork.server`) talk: pickles
framed by their length. Each side reads only what the other, its own parent or child,
writes."""

from __future__ import annotations

import pickle
import struct
from typing import IO, Any

HEADER = struct.Struct(">Q")


def read_frame(stream: IO[bytes]) -> Any:
    """One framed pickle from ``stream``; ``None`` at its end."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


def frame(value: Any) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body
