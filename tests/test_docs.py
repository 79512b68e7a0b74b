"""The documentation a user reads: every link inside the project, every claim of the lesson's page real."""

import re

from conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]


def test_every_link_of_the_docs_leads_to_a_file_of_the_project():
    for page in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path = (page.parent / target).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), f"{page.name}: {target}"


def test_no_doc_names_a_path_outside_the_project():
    """Neither the docs nor the code's docstrings and comments send a user to a folder they do not have."""
    code = [p for folder in ("suite", "tasks", "bench", "tests") for p in sorted((ROOT / folder).rglob("*.py"))]
    for page in [*DOCS, *code]:
        for path in re.findall(r"\.\./[\w./-]*", page.read_text()):  # links or not
            assert (page.parent / path).resolve().is_relative_to(ROOT), f"{page.name}: {path}"
