"""Selection of the compiled or pure-Python implementation.

Every compiled module ``_x`` has a pure twin ``_x_py`` with the same names,
signatures and behaviour.  The facade re-exports one backend; tests and
benchmarks load both side by side with :func:`load_backend`.
"""

from __future__ import annotations

import importlib
import os
from types import SimpleNamespace

__all__ = ["BACKENDS", "MODULES", "API", "INTERNAL", "load_backend", "select_backend"]

BACKENDS = ("cython", "python")
#: Public names each backend provides, by compiled module: the one list of
#: both.  A module is ``src/fastframe/<module>.pyx`` (setup.py builds every
#: ``.pyx`` there) beside its pure twin ``<module>_py.py``; the facade
#: re-exports these names, in this order.
API = {
    "_mask": ("apply_mask", "mask_inplace"),
    "_utf8": ("validate_utf8", "Utf8Validator", "decode_utf8"),
    "_frames": (
        "Header",
        "Frame",
        "parse_header",
        "build_header",
        "build_frame",
        "build_fragments",
        "parse_close",
        "build_close",
    ),
    "_parser": ("FrameParser",),
    "_messages": ("MessageAssembler",),
    # No public names: fast paths for the integrations, which import it by name.
    "_relay": (),
}
#: The compiled modules, in import order; the twin of ``_mask`` is ``_mask_py``.
MODULES = tuple(API)
#: Names the integrations import from a compiled module or its twin, which
#: the facade does not export: the twins must agree on these as on API's.
INTERNAL = {"_relay": ("FrameRelay", "read_data_frames")}


def load_backend(name: str) -> SimpleNamespace:
    """Import one backend and return its public names as attributes.

    Besides the names of :data:`API`, the namespace has ``name`` (the
    backend's name) and ``kernels`` (the SIMD kernels the compiled modules
    chose on this CPU, or ``"python"``).

    Raises:
        ValueError: ``name`` is not ``"cython"`` or ``"python"``.
        ImportError: the backend is not available (compiled modules missing).
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    suffix = "" if name == "cython" else "_py"
    namespace = SimpleNamespace(name=name)
    modules = {}
    for module_name in MODULES:
        module = importlib.import_module(f"fastframe.{module_name}{suffix}")
        modules[module_name] = module
        for attr in API[module_name]:
            setattr(namespace, attr, getattr(module, attr))
    namespace.kernels = {"mask": modules["_mask"].KERNEL, "utf8": modules["_utf8"].KERNEL}
    return namespace


def select_backend() -> SimpleNamespace:
    """The backend the facade uses.

    The pure backend when ``FASTFRAME_NO_EXTENSIONS`` is set (to anything
    but ``0``) or when the compiled modules cannot be imported; otherwise
    the compiled one.
    """
    if os.environ.get("FASTFRAME_NO_EXTENSIONS", "") not in ("", "0"):
        return load_backend("python")
    try:
        return load_backend("cython")
    except ImportError:
        return load_backend("python")
