# The compiled twin has the signatures of the pure one.
from ._frames_py import (
    MAX_PAYLOAD_LENGTH as MAX_PAYLOAD_LENGTH,
)
from ._frames_py import (
    OPCODES as OPCODES,
)
from ._frames_py import (
    Frame as Frame,
)
from ._frames_py import (
    Header as Header,
)
from ._frames_py import (
    build_close as build_close,
)
from ._frames_py import (
    build_frame as build_frame,
)
from ._frames_py import (
    build_header as build_header,
)
from ._frames_py import (
    parse_close as parse_close,
)
from ._frames_py import (
    parse_header as parse_header,
)
