"""The benchmarks stop with a helper process's error when it dies, and start both ways
(``python -m bench.NAME`` and ``python bench/NAME.py``)."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bench.children import HelperDied, receive, stop

ROOT = Path(__file__).resolve().parents[2]
GENEROUS = 120  # seconds: only so that a regression fails instead of hanging the suite


def waited(call: Any) -> Any:
    """``call()`` in a thread; its result, or the exception it raised."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GENEROUS)
    assert not thread.is_alive(), "receive() still waiting on a child that has exited"
    return outcome.get("error", outcome.get("result"))


def test_a_child_that_dies_at_import_stops_the_wait_with_its_error(
    capfd: pytest.CaptureFixture[str],
) -> None:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()  # we keep `theirs` open, as the benchmarks do
    child = context.Process(target=importlib.import_module, args=("tests_no_such_module",))
    child.start()
    try:
        outcome = waited(lambda: receive(ours, {"fake server": child}, who="bench/x.py"))
    finally:
        stop([child])
    assert isinstance(outcome, HelperDied)
    message = str(outcome)
    assert message.startswith(f"bench/x.py: the fake server (pid {child.pid}) exited with status 1")
    assert "its error is above" in message
    assert "No module named 'tests_no_such_module'" in capfd.readouterr().err
    theirs.close()


def test_a_subprocess_that_dies_stops_the_wait_with_the_tail_of_its_log(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    log = tmp_path / "bots.log"
    with log.open("wb") as out:
        bot = subprocess.Popen(
            [sys.executable, "-c", "import sys; print('starting'); sys.exit('bot: no token')"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        outcome = waited(lambda: receive(ours, {"bot": bot}, logs={"bot": log}, who="b"))
    finally:
        stop([bot])
    assert isinstance(outcome, HelperDied)
    lines = str(outcome).splitlines()
    assert lines[0].startswith(f"b: the bot (pid {bot.pid}) exited with status 1")
    assert lines[1:] == ["  starting", "  bot: no token"]
    with pytest.raises(SystemExit) as stopped:  # what the benchmark's process does with it
        raise outcome
    assert stopped.value.code == str(outcome)  # printed on stderr, exit status 1
    theirs.close()


def test_an_answer_sent_before_the_child_exits_is_received(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    theirs.send(("http://127.0.0.1:1/bot", "http://127.0.0.1:1/file"))
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    assert receive(ours, {"fake server": done}) == (
        "http://127.0.0.1:1/bot",
        "http://127.0.0.1:1/file",
    )
    theirs.close()


def started_as_a_file(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env = {k: v for k, v in env.items() if not k.startswith("CCHC_")}
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_fanout_runs_as_a_file_its_children_finding_the_fake_server(tmp_path: Path) -> None:
    done = started_as_a_file("fanout.py", "--recipients", "20", "--rate", "1000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "lost              0 (goal 0)" in done.stdout
    assert "duplicated        0 (goal 0)" in done.stdout


@pytest.mark.parametrize("script", ["load.py", "status.py"])
def test_the_other_benchmarks_start_as_files(script: str, tmp_path: Path) -> None:
    done = started_as_a_file(script, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ")
