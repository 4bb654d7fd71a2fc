"""Sphinx configuration of fastframe's documentation site.

Built by .ci/run with warnings as errors (``sphinx-build -W``), and its
examples run with the doctest builder (``sphinx-build -b doctest``).
"""

from __future__ import annotations

import os
import re
from typing import Any

# The pure twins carry the type annotations the signatures show; both backends
# have the same names, signatures and docstrings (tests/test_backend.py), so the
# reference documents either.  Set before fastframe is first imported.
os.environ.setdefault("FASTFRAME_NO_EXTENSIONS", "1")

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

import fastframe
from fastframe._backend import API

project = "fastframe"
author = "fastframe developers"
copyright = "fastframe developers"
release = fastframe.__version__
version = re.match(r"\d+\.\d+", release).group(0)  # type: ignore[union-attr]

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# speed.md: the full table of a bench run (`python -m fastframe.bench --markdown`), linked from the README.
exclude_patterns = ["_build", "speed.md"]
html_theme = "furo"
html_title = f"fastframe {release}"

napoleon_google_docstring = True
napoleon_numpy_docstring = False
# Attributes sections as fields: autodoc lists the attributes themselves (:members:).
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# README.md and SECURITY.md are written for GitHub and PyPI: their headings
# need not start at level one where a page includes a part of them.
suppress_warnings = ["myst.header"]
myst_heading_anchors = 3

# Every page's doctest examples run against the facade.
doctest_global_setup = "import fastframe"

# Sections of the reference, by the compiled module whose names they list
# (_backend.API, the one list of public names), then the names both backends share.
_MODULE_TITLES = {
    "_mask": "Masking (RFC 6455 §5.3)",
    "_utf8": "UTF-8 validation (RFC 3629)",
    "_frames": "Headers, frames and close payloads (RFC 6455 §5.2, §5.5.1)",
    "_parser": "The sans-I/O frame parser (RFC 6455 §5)",
    "_messages": "Messages",
}
_SHARED = {
    "Backend": ("BACKEND", "KERNELS"),
    "Types, enums and errors": ("Message", "Opcode", "CloseCode", "ProtocolError"),
    "Integrations": ("patch", "unpatch"),
}


class PublicApi(SphinxDirective):
    """``.. fastframe-api::``: one autodoc entry per name of ``fastframe.__all__``.

    The list comes from ``_backend.API`` and the facade's ``__all__``; the
    build fails if a public name would be left out or listed twice.
    """

    def run(self) -> list[nodes.Node]:
        sections = [(_MODULE_TITLES[module], names) for module, names in API.items() if names]
        sections += list(_SHARED.items())
        listed = [name for _, names in sections for name in names]
        if sorted(listed) != sorted(fastframe.__all__):
            missing = sorted(set(fastframe.__all__) - set(listed))
            extra = sorted(set(listed) - set(fastframe.__all__))
            raise self.error(f"the reference does not match fastframe.__all__: missing {missing}, extra {extra}")
        lines: list[str] = []
        for title, names in sections:
            lines += [title, "-" * len(title) * 2, ""]
            for name in names:
                lines += _entry(name)
        content = StringList(lines, source="fastframe-api")
        node = nodes.section()
        node.document = self.state.document
        # match_titles: the generated section titles belong to the page.
        self.state.nested_parse(content, self.content_offset, node, match_titles=True)
        return node.children


def _entry(name: str) -> list[str]:
    obj = getattr(fastframe, name)
    if isinstance(obj, type):
        return [f".. autoclass:: fastframe.{name}", "   :members:", "   :undoc-members:", ""]
    if callable(obj):
        return [f".. autofunction:: fastframe.{name}", ""]
    # BACKEND, KERNELS: their value depends on the machine that builds the docs.
    return [f".. autodata:: fastframe.{name}", "   :no-value:", ""]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("fastframe-api", PublicApi)
    return {"parallel_read_safe": True}
