"""Two processes on one output folder, and what a run shows on the terminal.

A second process refuses while another trains into the folder (a real second process, the lock held
by this one); a lock file left by a dead process is taken over; a smoke run with spawned workers
shows none of TensorFlow's C++ start-up lines."""

import os
import sqlite3
import subprocess
import sys

import pytest

from suite import UsageError
from suite.lock import LOCK_FILE, hold_output, holder

# what TensorFlow's native libraries write to stderr as they load, before absl logging is initialised
START_UP_LINES = ("port.cc", "cudart_stub.cc", "oneDNN custom operations", "Could not find cuda drivers",
                  "absl::InitializeLog")
SMOKE = ["--studies", "locality", "--archs", "mlp", "--datasets", "digits", "--sizes", "40", "--seeds", "1",
         "--profile", "smoke", "--no-progress"]


def dead_pid() -> int:
    """The PID of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_held_folder_is_refused_in_one_line_naming_the_holder_and_free_again_after(tmp_path):
    command = ["run_suite.py", "--studies", "locality"]
    assert holder(tmp_path) is None
    with hold_output(tmp_path, command):
        assert holder(tmp_path) == f"PID {os.getpid()} (run_suite.py --studies locality)"
        with pytest.raises(UsageError, match=f"is in use: PID {os.getpid()} \\(run_suite.py --studies locality\\) "
                                             "is training into it"):
            with hold_output(tmp_path, ["run_suite.py"]):
                pass
    assert holder(tmp_path) is None
    with hold_output(tmp_path, ["run_suite.py", "--profile", "smoke"]):  # released: the next one takes it
        assert holder(tmp_path) == f"PID {os.getpid()} (run_suite.py --profile smoke)"


def test_a_second_process_on_a_folder_being_trained_into_refuses_and_trains_nothing(cli, tmp_path):
    out = tmp_path / "out"
    with hold_output(out, ["run_suite.py", "--studies", "locality"]):
        result = cli(*SMOKE, "--output", out)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"is in use: PID {os.getpid()} (run_suite.py --studies locality) is training into it" in lines[0]
    assert not (out / "results.sqlite").exists()  # refused before the database was opened


def test_a_lock_left_by_a_dead_process_is_taken_over(run_main, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK_FILE).write_text(f"{dead_pid()}\nrun_suite.py --killed\n")  # as kill -9 leaves it
    code, _, err = run_main(*SMOKE, "--workers", "1", "--output", out)
    assert code == 0, err
    con = sqlite3.connect(out / "results.sqlite")
    assert con.execute("select count(*) from runs where status = 'ok' and kind = 'eval'").fetchone()[0] == 2
    con.close()
    assert holder(out) is None and (out / LOCK_FILE).read_text() == ""  # released when it ended

    # --report-only does not wait for a process training into the folder: it says so and reports
    with hold_output(out, ["run_suite.py", "--studies", "locality"]):
        code, _, err = run_main("--report-only", "--output", out)
    assert code == 0, err
    assert f"PID {os.getpid()} (run_suite.py --studies locality) is still training into" in err


def test_a_run_with_spawned_workers_shows_no_start_up_lines(smoke_run):
    """The smoke run of every study, with two spawned workers that each load TensorFlow as the main
    process does: none of the native libraries' start-up lines reach the terminal."""
    shown = [line for line in smoke_run.result.stderr.splitlines() if any(s in line for s in START_UP_LINES)]
    assert not shown, smoke_run.result.stderr[-3000:]
