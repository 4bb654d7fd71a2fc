"""pytest plugin: run a test suite with fastframe patched into the libraries it tests.

Enable it with ``-p fastframe.testing.plugin`` and name the libraries in the
environment: ``FASTFRAME_PATCH=wsproto`` (comma-separated).  The patch is
applied in ``pytest_configure``, before any test module is collected, so it
holds whether the suite imports the library at module level or later.  A
library that cannot be patched stops the run with a usage error instead of
letting the suite pass unpatched.

If ``FASTFRAME_PEER_REPORT`` names a file, the plugin writes there, as JSON,
what it patched, on which fastframe backend, and which libraries were still
patched when the session finished (a test that unpatched would show there).
Without ``FASTFRAME_PATCH`` the plugin patches nothing and still writes the
report: the unpatched run of :mod:`fastframe.testing.peer` proves with it that
it really ran unpatched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from .. import integrations
from ..integrations import _patching

#: The environment variable naming the libraries to patch, comma-separated.
PATCH_ENV = "FASTFRAME_PATCH"
#: The environment variable naming the file the plugin writes its JSON report to.
REPORT_ENV = "FASTFRAME_PEER_REPORT"

_state = pytest.StashKey[dict[str, Any]]()


def requested() -> tuple[str, ...]:
    """The libraries ``FASTFRAME_PATCH`` names, in order, without blanks or repeats."""
    names = (name.strip() for name in os.environ.get(PATCH_ENV, "").split(","))
    return tuple(dict.fromkeys(name for name in names if name))


def _patched_now() -> list[str]:
    return [library for library in integrations.LIBRARIES if integrations.is_patched(library)]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Patch the requested libraries before the suite's modules are imported."""
    libraries = requested()
    before = _patched_now()
    try:
        newly = integrations.patch(*libraries) if libraries else ()
    except (ImportError, ValueError) as exc:
        raise pytest.UsageError(f"fastframe could not patch {', '.join(libraries)}: {exc}") from exc
    missing = [library for library in libraries if not integrations.is_patched(library)]
    if missing:
        raise pytest.UsageError(f"fastframe.patch() left {', '.join(missing)} unpatched")
    config.stash[_state] = {
        "requested": list(libraries),
        "patched_by_plugin": list(newly),
        "patched_before": before,
        "patched_at_start": _patched_now(),
        "backend": _patching.api().name,
    }


def pytest_report_header(config: pytest.Config) -> str:
    """Say in the run's header what is patched, so a log explains itself."""
    state = config.stash.get(_state, None)
    if state is None:
        return "fastframe: plugin not configured"
    patched = ", ".join(state["patched_at_start"]) or "nothing"
    return f"fastframe {state['backend']} backend; patched: {patched}"


def pytest_unconfigure(config: pytest.Config) -> None:
    """Write the report, then undo what the plugin patched."""
    state = config.stash.get(_state, None)
    if state is None:
        return
    state["patched_at_end"] = _patched_now()
    report = os.environ.get(REPORT_ENV)
    if report:
        Path(report).write_text(json.dumps(state, indent=2), encoding="utf-8")
    if state["patched_by_plugin"]:
        integrations.unpatch(*state["patched_by_plugin"])
