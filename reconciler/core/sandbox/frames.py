"""Length-prefixed frames over a pipe: 8 bytes of big-endian length, then the payload.

Requests (parent to child) are pickles: they come from our own process. Answers (child to
parent) are JSON: the child has evaluated untrusted input, so nothing it sends back may run
code when read.
"""

from __future__ import annotations

import os
import select
import struct
import time
from typing import BinaryIO

_HEADER = struct.Struct(">Q")
MAX_ANSWER_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20


class FrameTimeout(Exception):
    """The deadline passed before the whole frame arrived."""


class FrameTooLarge(Exception):
    """The other side announced a frame larger than we accept."""


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)))
    stream.write(payload)
    stream.flush()


def read_frame_blocking(stream: BinaryIO) -> bytes | None:
    """The next frame, or None at end of stream (the other side closed the pipe)."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    payload = _read_exactly(stream, size)
    if payload is None:
        return None
    return payload


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    parts: list[bytes] = []
    left = size
    while left:
        chunk = stream.read(min(left, _CHUNK))
        if not chunk:
            return None
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_frame_until(fd: int, deadline: float, max_bytes: int = MAX_ANSWER_BYTES) -> bytes | None:
    """The next frame from the raw descriptor `fd` (time.monotonic() `deadline`), or None at end
    of stream. Raises FrameTimeout at the deadline and FrameTooLarge past `max_bytes`."""
    header = _read_fd(fd, _HEADER.size, deadline)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > max_bytes:
        raise FrameTooLarge(f"an answer of {size} bytes, more than {max_bytes}")
    return _read_fd(fd, size, deadline)


def _read_fd(fd: int, size: int, deadline: float) -> bytes | None:
    poller = select.poll()  # not select(): a busy worker's descriptors may be numbered past 1024
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    buffer = bytearray()
    while len(buffer) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FrameTimeout()
        if not poller.poll(max(1, int(remaining * 1000))):
            continue
        chunk = os.read(fd, min(size - len(buffer), _CHUNK))
        if not chunk:
            return None
        buffer += chunk
    return bytes(buffer)
