"""The documentation a user reads: every link inside the project, every claim of the lesson's page real."""

import re

from conftest import ROOT
from suite.studies import REGISTRY, load_builtin_studies

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


def test_the_lesson_page_quotes_every_claim_of_the_built_in_studies_by_its_text():
    """docs/lesson.md names each claim by the start of its text as the report prints it (quoted, from a
    capital letter); every such quote is the start of a claim, and every claim is quoted."""
    load_builtin_studies()
    claims = [c.text for s in REGISTRY.studies() for c in s.claims]
    quotes = [" ".join(q.split()) for q in re.findall(r'"([A-Z][^"]+)"', (ROOT / "docs" / "lesson.md").read_text())]
    assert quotes
    for quote in quotes:
        assert any(text.startswith(quote) for text in claims), f"no claim starts with {quote!r}"
    for text in claims:
        assert any(text.startswith(quote) for quote in quotes), f"docs/lesson.md does not cite {text!r}"
