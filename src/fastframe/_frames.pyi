# The compiled twin has the signatures of the pure one.
from ._frames_py import (
    MAX_PAYLOAD_LENGTH as MAX_PAYLOAD_LENGTH,
    OPCODES as OPCODES,
    Frame as Frame,
    Header as Header,
    build_close as build_close,
    build_fragments as build_fragments,
    build_frame as build_frame,
    build_header as build_header,
    parse_close as parse_close,
    parse_header as parse_header,
)

__all__ = [
    "Header",
    "Frame",
    "parse_header",
    "build_header",
    "build_frame",
    "build_fragments",
    "parse_close",
    "build_close",
    "MAX_PAYLOAD_LENGTH",
    "OPCODES",
]
