"""Waiting on a benchmark's helper processes without hanging when one of them dies.

A benchmark talks to its helpers (the fake Bot API server, bot processes) through a
``multiprocessing`` pipe. The benchmark keeps its own copy of the pipe's other end, so when a
helper dies (at import, say, ``No module named 'tests'``) a plain ``conn.recv()`` never sees
end-of-file and waits for ever. :func:`receive` waits for the message or for a helper to exit,
whichever comes first, and stops the benchmark with the helper's error.

Run as a file (``python bench/NAME.py``), a benchmark first puts the project's root on
``sys.path`` (Python puts ``bench/`` there instead), so that it and its spawned children
(which inherit ``sys.path``) find ``tests.support.fakes``, as under ``python -m bench.NAME``.
"""

from __future__ import annotations

import multiprocessing.connection
import subprocess
from collections.abc import Mapping
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.2  # how often the helpers' exit is looked at while no message comes
LOG_TAIL_LINES = 30

Child = BaseProcess | subprocess.Popen[bytes]


class HelperDied(SystemExit):
    """A helper process exited before sending what the benchmark waited for: a
    ``SystemExit`` whose message (printed on stderr, exit status 1) says which and why."""


def exit_status(child: Child) -> int | None:
    """The child's exit status, or None while it runs."""
    if isinstance(child, subprocess.Popen):
        return child.poll()
    return child.exitcode


def receive(
    conn: Connection,
    watched: Mapping[str, Child],
    *,
    logs: Mapping[str, Path] | None = None,
    who: str = "bench",
) -> Any:
    """``conn.recv()``, unless one of the ``watched`` processes (by name) exits first: then
    raise :class:`HelperDied` naming it and its exit status, with the tail of its log file
    when it writes to one (``logs``, by name; a ``multiprocessing`` child's traceback is
    already on the benchmark's stderr, which it shares)."""
    while True:
        if multiprocessing.connection.wait([conn], timeout=POLL_SECONDS):
            return conn.recv()
        for name, child in watched.items():
            status = exit_status(child)
            if status is None:
                continue
            if conn.poll():  # it answered, then exited
                return conn.recv()
            raise HelperDied(died_message(who, name, child, status, (logs or {}).get(name)))


def died_message(who: str, name: str, child: Child, status: int, log: Path | None) -> str:
    lines = [f"{who}: the {name} (pid {child.pid}) exited with status {status} before answering"]
    if log is None:
        lines[0] += "; its error is above"
    else:
        said = log.read_text(encoding="utf-8", errors="replace").splitlines()
        lines[0] += f"; the last lines of its output ({log}):"
        lines += ["  " + line for line in said[-LOG_TAIL_LINES:]]
    return "\n".join(lines)


def stop(children: list[Child], grace: float = 10.0) -> None:
    """Terminate the children still running, and reap them all."""
    for child in children:
        if isinstance(child, subprocess.Popen):
            if child.poll() is None:
                child.terminate()
            try:
                child.wait(grace)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        elif child.pid is not None:  # started
            if child.is_alive():
                child.terminate()
            child.join(grace)
            if child.is_alive():
                child.kill()
                child.join()
