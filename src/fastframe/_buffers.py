"""Buffer arguments and masking keys, as the pure-Python twins check and read them.

``_buffers.pxd`` beside this file is the same for the compiled modules, in C:
any C-contiguous buffer is accepted and read as raw bytes; anything else is a
:class:`TypeError`.  Its error path calls :func:`byte_view`, so that both
backends raise the same exception with the same message.
"""

from __future__ import annotations

from typing import Union

Buffer = Union[bytes, bytearray, memoryview]


def byte_view(data: object, *, writable: bool = False) -> memoryview:
    """Return a flat, one-byte-per-item view of ``data``.

    Raises:
        TypeError: ``data`` is not a buffer, is not C-contiguous, or is
            read-only while ``writable`` is requested.
    """
    view = memoryview(data)  # type: ignore[arg-type]  # TypeError for non-buffers
    if not view.c_contiguous or (writable and view.readonly):
        kind = "a writable C-contiguous" if writable else "a C-contiguous"
        raise TypeError(f"{kind} buffer is required, not {type(data).__name__}")
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def mask_key(mask: object) -> bytes:
    """Check a masking key (RFC 6455 §5.3) and return it as 4 bytes.

    Raises:
        TypeError: ``mask`` is not a buffer.
        ValueError: ``mask`` is not exactly 4 bytes long.
    """
    key = mask if type(mask) is bytes else byte_view(mask).tobytes()
    if len(key) != 4:
        raise ValueError(f"mask must be 4 bytes, got {len(key)}")
    return key


def rotate_key(key: bytes, offset: int) -> bytes:
    """The key as seen by a byte ``offset`` bytes into the payload (§5.3: key octet ``i MOD 4``)."""
    phase = offset & 3
    return key[phase:] + key[:phase] if phase else key
