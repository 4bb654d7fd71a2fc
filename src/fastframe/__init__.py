"""fastframe: a fast, correct WebSocket (RFC 6455) framing core.

The hot paths — XOR (un)masking, UTF-8 validation, header parsing and
building, the frame parser — are compiled (Cython and C with SIMD kernels
chosen at run time); each has a pure-Python twin with the same behaviour.
:data:`BACKEND` says which one this process uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._backend import API, select_backend
from ._shared import Message
from .enums import CloseCode, Opcode
from .errors import ProtocolError
from .integrations import patch, unpatch

__version__ = "0.1.0"

# Written out for type checkers and ``import *``, which read it statically;
# tests/test_backend.py checks it against _backend.API, the list of record.
__all__ = [
    "BACKEND",
    "KERNELS",
    "apply_mask",
    "mask_inplace",
    "validate_utf8",
    "Utf8Validator",
    "decode_utf8",
    "Header",
    "Frame",
    "parse_header",
    "build_header",
    "build_frame",
    "build_fragments",
    "parse_close",
    "build_close",
    "FrameParser",
    "Message",
    "MessageAssembler",
    "Opcode",
    "CloseCode",
    "ProtocolError",
    "patch",
    "unpatch",
]

# Type checkers see the typed pure twins (tests/test_backend.py checks these
# imports against _backend.API); at run time, the selected backend's names.
if TYPE_CHECKING:
    from ._frames_py import (
        Frame,
        Header,
        build_close,
        build_fragments,
        build_frame,
        build_header,
        parse_close,
        parse_header,
    )
    from ._mask_py import apply_mask, mask_inplace
    from ._messages_py import MessageAssembler
    from ._parser_py import FrameParser
    from ._utf8_py import Utf8Validator, decode_utf8, validate_utf8

    BACKEND: str
    KERNELS: dict[str, str]
else:
    _backend = select_backend()
    #: "cython" or "python": the implementation in use.
    BACKEND = _backend.name
    #: The kernels the compiled backend chose on this CPU, e.g. {"mask": "avx512", "utf8": "avx512"}.
    KERNELS = _backend.kernels
    globals().update({name: getattr(_backend, name) for names in API.values() for name in names})
    del _backend
