"""Drop-in speedups for the WebSocket libraries people already run.

``fastframe.patch("wsproto")`` replaces the named library's frame path with
fastframe's, in place, so that code using the library (and the servers built
on it) runs faster with the library's own behaviour: the same results,
exceptions, close codes, limits and options.  ``fastframe.unpatch()``
restores exactly what was there.

Each library has one module here, ``fastframe.integrations.<library>``, with
``patch()``, ``unpatch()``, ``is_patched()``, ``SUPPORTED_VERSIONS`` and
``PATCHED_BY_DEFAULT`` (whether ``fastframe.patch()`` with no names includes
it: only an integration that its benchmarks show faster than the library).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

from . import _patching
from ._patching import IntegrationError

__all__ = ["LIBRARIES", "IntegrationError", "patch", "unpatch", "is_patched", "installed"]

#: Every library fastframe can patch, by import name: the modules of this package are the list.
LIBRARIES = tuple(sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")))


def _module(library: str) -> ModuleType:
    if library not in LIBRARIES:
        raise ValueError(f"fastframe has no integration for {library!r}; it has: {', '.join(LIBRARIES) or 'none'}")
    return importlib.import_module(f"{__name__}.{library}")


def installed() -> tuple[str, ...]:
    """The libraries of :data:`LIBRARIES` that are installed (not checked against the supported versions)."""
    return tuple(library for library in LIBRARIES if importlib.util.find_spec(library) is not None)


def patch(*libraries: str) -> tuple[str, ...]:
    """Make the named libraries use fastframe; with no names, every installed one patched by default.

    With no names, the installed libraries whose integration has
    ``PATCHED_BY_DEFAULT`` set: those its benchmarks show faster than the
    library alone.  An integration without it is patched only by name.  On
    the pure backend (no compiled modules), nothing is patched by default:
    the pure twins are there to run everywhere, and a library's own C code
    (aiohttp's reader, websockets' and tornado's masks) is faster than them;
    a library named explicitly is still patched.

    Patching is idempotent and thread-safe, and takes effect whether a
    library was imported before or after the call.

    Args:
        libraries: import names from :data:`LIBRARIES`.

    Returns:
        The libraries this call patched (those already patched are left out).

    Raises:
        ValueError: a name fastframe has no integration for.
        IntegrationError: a named library is not installed, or its version is
            not supported; nothing of it is patched.  With no names, an
            installed library at an unsupported version raises too.
    """
    if not libraries and _patching.api().name != "cython":
        return ()
    names = libraries or tuple(library for library in installed() if _module(library).PATCHED_BY_DEFAULT)
    modules = [_module(library) for library in names]
    return tuple(library for library, module in zip(names, modules) if module.patch())


def unpatch(*libraries: str) -> tuple[str, ...]:
    """Restore the named libraries (with no names, every patched one) as they were.

    Returns:
        The libraries this call restored.
    """
    names = libraries or LIBRARIES
    modules = [_module(library) for library in names]
    return tuple(library for library, module in zip(names, modules) if module.unpatch())


def is_patched(library: str) -> bool:
    """Whether ``library`` is patched now."""
    return bool(_module(library).is_patched())
