"""The documents match the tree: the README's layout names every top-level folder and every blueprint and
service module, and every file path the docs, docstrings and templates cite exists."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
TOP = ("docs", "services", "blueprints", "templates", "static", "tests", "sandbox", "bench", "migrations", ".ci")
# A path into the repository that names a file: "docs/deploy.md", "services/imports.py" (not a dotted name
# such as services/einvoice/model.VatCategory, nor a pattern with * or {}).
CITED = re.compile(rf"(?<![\w./-])((?:{'|'.join(re.escape(top) for top in TOP)})/[\w./-]*?"
                   r"\.(?:py|md|html|css|js|yaml|toml|ini|xslt|txt))(?![\w/{*])")


def _tracked() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tree's files are not known")
    return [name for name in listed.stdout.splitlines() if (ROOT / name).exists()]


def _layout() -> list[str]:
    section = README.read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```\n", 2)[1].splitlines()


def test_the_readme_layout_names_every_top_level_folder_and_every_blueprint_and_service_module():
    tracked = _tracked()
    first_words = {line.split()[0] for line in _layout() if line.strip()}
    wanted = {name.split("/")[0] + "/" for name in tracked if "/" in name}
    wanted |= {name for name in tracked if "/" not in name and name.endswith(".py")}
    wanted |= {Path(name).name for name in tracked if name.startswith(("services/", "blueprints/"))
               and name.endswith(".py") and not name.endswith("__init__.py")}
    assert sorted(wanted - first_words) == []
    # and every file or folder it names is still there
    present = {Path(name).name for name in tracked} | {part + "/" for name in tracked for part in Path(name).parts[:-1]}
    named = {word for word in first_words if re.fullmatch(r"[\w.-]+(?:\.[a-z]+|/)", word)}
    assert sorted(named - present) == []

def test_every_file_the_docs_docstrings_and_templates_cite_exists():
    tracked = _tracked()
    texts = [name for name in tracked if name.endswith((".md", ".py", ".html"))
             and not name.startswith(("tests/vendor/", "static/vendor/", "migrations/versions/"))]
    missing = sorted({f"{name}: {path}" for name in texts for path in CITED.findall((ROOT / name).read_text())
                      if not (ROOT / path).exists()})
    assert missing == []
