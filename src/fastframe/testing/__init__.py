"""Proof that a patched library still behaves as its own tests say.

``python -m fastframe.testing.peer <library>`` downloads the library's
released sdist, runs its test suite unpatched and patched (through the pytest
plugin :mod:`fastframe.testing.plugin`), and lists every test whose outcome
differs.
"""

from __future__ import annotations

__all__ = ["PATCH_ENV", "REPORT_ENV"]

#: The environment variable naming the libraries the plugin patches, comma-separated.
PATCH_ENV = "FASTFRAME_PATCH"
#: The environment variable naming the file the plugin writes its JSON report to.
REPORT_ENV = "FASTFRAME_PEER_REPORT"
