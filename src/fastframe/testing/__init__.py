"""Proof that a patched library still behaves as its own tests say.

``python -m fastframe.testing.peer <library>`` downloads the library's
released sdist, runs its test suite unpatched and patched (through the pytest
plugin :mod:`fastframe.testing.plugin`), and lists every test whose outcome
differs.
"""
