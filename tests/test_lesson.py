"""The lesson-coverage table: every statement of the lesson beside the claims that measure it."""

import re

from conftest import ROOT
from suite.claims import Claim
from suite.lesson import ADDED, STATEMENTS, coverage, unresolved
from suite.report import write_report
from suite.store.write import Writer
from suite.studies import REGISTRY, Task, load_builtin_studies
from test_report import _verdict_row, fill, study


def builtin_claims() -> list[str]:
    load_builtin_studies()
    return [c.text for s in REGISTRY.studies() for c in s.claims]


def test_every_built_in_claim_is_quoted_by_a_statement_and_every_quote_names_one():
    texts = builtin_claims()
    assert unresolved(texts) == []
    # and the check can fail: a claim nobody quotes, a quote whose claim is gone
    assert unresolved(texts + ["Zebras assume stripes."]) == ["no statement quotes 'Zebras assume stripes.'"]
    quoted = STATEMENTS[0].quotes[0]
    assert any(quoted in problem for problem in unresolved([t for t in texts if not t.startswith(quoted)]))


def test_each_statement_has_a_status_and_the_unmeasured_say_why():
    for s in STATEMENTS + ADDED:
        assert s.status in ("measured", "shown", "not measured")
        if s.status == "not measured":
            assert len(s.how) > len("Not measured: ") + 20, s.says  # a reason, not a bare label
    assert sum(s.status == "measured" for s in STATEMENTS) > len(STATEMENTS) / 2


def test_the_index_puts_each_statement_beside_the_verdicts_of_its_claims(tmp_path):
    quote = STATEMENTS[0].quotes[0]  # a claim of this run that the first statement quotes
    claim = Claim(text=quote + " (as tested here)", a={"arch": "cnn"}, b={"arch": "mlp"})
    tasks = [Task(name="c/cnn", study="c", dataset="digits", arch="cnn"),
             Task(name="c/mlp", study="c", dataset="digits", arch="mlp")]
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, tasks, study("c", (claim,)), score=lambda t, n, seed: (0.9 if t.arch == "cnn" else 0.6)
             + 0.01 * seed)
        html = write_report(store, tmp_path / "out" / "index.html").read_text()
    table = html[html.index('id="lesson-table"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr data-status=\"([a-z ]+)\">(.*?)</tr>", table, re.S)
    assert [status for status, _ in rows] == [s.status for s in STATEMENTS]
    first = rows[0][1]
    verdict = _verdict_row(html, quote + " (as tested here)")[0]  # as the claims table says
    assert f'<a href="c.html">c</a>: &ldquo;' in first
    assert re.findall(r'class="verdict [\w-]+">([\w ]+)<', first)[0] == verdict
    # a quoted claim this run does not hold says so rather than vanishing
    assert "not in this run" in "".join(row for _, row in rows[1:] if "&ldquo;" in row)
    assert len(coverage([("c", [])])) == len(STATEMENTS)


def test_the_lesson_page_lists_every_statement():
    page = " ".join((ROOT / "docs" / "lesson.md").read_text().split())
    for s in STATEMENTS + ADDED:
        assert " ".join(s.says.split()) in page, s.says


def test_findings_prints_the_lesson_tables_and_where_the_data_cannot_decide(smoke_run):
    import subprocess
    import sys

    script = [sys.executable, str(ROOT / "docs" / "findings.py"), str(smoke_run.db)]
    lesson = subprocess.run([*script, "--lesson"], capture_output=True, text=True, timeout=300)
    assert lesson.returncode == 0, lesson.stderr[-2000:]
    text = " ".join(lesson.stdout.split())
    for s in STATEMENTS + ADDED:
        assert " ".join(s.says.split()) in text, s.says
    assert sum(line.startswith("## ") for line in lesson.stdout.splitlines()) == len(
        {s.section for s in STATEMENTS + ADDED})
    decisive = subprocess.run([*script, "--decisive"], capture_output=True, text=True, timeout=300)
    assert decisive.returncode == 0, decisive.stderr[-2000:]
    rows = [line for line in decisive.stdout.splitlines() if line.startswith("| ")][2:]
    # the smoke profile trains on CPUs: the bottleneck's GPU claims are undecidable there, with the reason
    assert any(row.startswith("| bottleneck |") and "GPU" in row for row in rows), decisive.stdout[-2000:]


def test_findings_writes_its_tables_into_the_docs_keeping_the_prose(smoke_run, tmp_path):
    """--write replaces the tables the docs quote from a run (every verdict, where the data cannot decide,
    the lesson's statements, the README's counts) and leaves every other line, the README's questions
    included, as it was."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("findings", ROOT / "docs" / "findings.py")
    findings = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(findings)
    for name in ("docs/studies.md", "docs/lesson.md", "README.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text((ROOT / name).read_text())
    findings.write(str(smoke_run.db), tmp_path)
    verdicts = findings.printed(findings.main, str(smoke_run.db))
    studies = (tmp_path / "docs/studies.md").read_text()
    assert "\n".join(verdicts) in studies and "\n".join(findings.printed(findings.decisive, str(smoke_run.db))) in studies
    prose = [line for line in (ROOT / "docs/studies.md").read_text().splitlines() if not line.startswith("|")]
    assert [line for line in studies.splitlines() if not line.startswith("|")] == prose
    lesson = (tmp_path / "docs/lesson.md").read_text()
    assert lesson.endswith("\n".join(findings.printed(findings.main, str(smoke_run.db), lesson=True)) + "\n")
    def counts_table(lines):
        start = next(i for i, line in enumerate(lines) if line.startswith("| study | question |"))
        end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
        return start, end

    old, new = ((root / "README.md").read_text().splitlines() for root in (ROOT, tmp_path))
    (a, b), (c, d) = counts_table(old), counts_table(new)
    assert old[:a] == new[:c] and old[b:] == new[d:]
    counted = findings.printed(findings.main, str(smoke_run.db), counts=True)[2:]
    rows = new[c + 2:d]
    assert len(rows) == len(counted) and all(row.endswith(n.split(" | ", 1)[1]) for row, n in zip(rows, counted))
    questions = {line.split(" | ")[0]: line.split(" | ")[1] for line in old[a + 2:b]}
    assert all(questions[row.split(" | ")[0]] == row.split(" | ")[1] for row in rows)
