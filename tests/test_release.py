"""What a release needs beyond working code: one version, a README that renders on PyPI.

These read the project's files (README.md, pyproject.toml, CHANGELOG.md)
and the installed package's metadata; they do not depend on the backend.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

import fastframe

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10
    tomllib = pytest.importorskip("tomli")

# Markdown links and images: [text](target) and ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)")


def pyproject() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def test_version_is_written_once():
    project = pyproject()["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "fastframe.__version__"}


def test_installed_metadata_has_the_package_version():
    try:
        version = importlib.metadata.version("fastframe")
    except importlib.metadata.PackageNotFoundError:
        # fuzz/sanitized_tests.sh imports fastframe from a source tree, not installed.
        pytest.skip("fastframe is not installed here (imported from a source tree)")
    assert version == fastframe.__version__


def test_changelog_has_the_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{fastframe.__version__}]" in changelog


def readme_links() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # Code blocks hold Python, whose indexing looks like a link.
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return LINK.findall(text)


def test_readme_links_work_on_pypi():
    """PyPI shows the README away from the repository: a relative link would be broken there."""
    links = readme_links()
    relative = [link for link in links if not re.match(r"https?://|#|mailto:", link)]
    assert relative == []


def test_readme_links_to_the_repository_it_names():
    repository = pyproject()["project"]["urls"]["Repository"]
    for link in readme_links():
        if "github.com/" in link:
            assert link.startswith(repository + "/"), link
