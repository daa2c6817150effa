"""The shared test helpers (tests/helpers/), on real child processes: a helper that cannot
fail would let every test built on it pass for nothing."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading

import pytest

from monitor.messages import Battery, Numerics
from tests.helpers.processes import OutputLines, end_process
from tests.helpers.sinks import Collector
from tests.helpers.waiting import until

# Prints three lines, then waits on stdin (for ever, unless told or ended).
TALKER = "import sys; print('one', flush=True); print('two 2', flush=True); " \
         "print('three', flush=True); sys.stdin.readline(); print('bye', file=sys.stderr)"


def _talker() -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", TALKER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_output_lines_go_forward_and_fail_when_the_output_ends() -> None:
    proc = _talker()
    try:
        out = OutputLines(proc.stdout, timeout=10)
        assert out.wait_for("t") == "two 2"
        assert out.group(re.compile(r"^(th\w+)")) == "three"
        with pytest.raises(AssertionError, match=r"no 'one' within 0\.2 s"):
            out.wait_for("one", timeout=0.2)  # already passed: waits are forward only
    finally:
        _, err = end_process(proc, signal.SIGTERM, 10)
    assert proc.returncode == -signal.SIGTERM and err == ""
    with pytest.raises(AssertionError, match="the output ended before 'four'"):
        out.wait_for("four")
    assert out.lines == ["one", "two 2", "three"]


def test_end_process_returns_what_it_printed_and_closes_its_pipes() -> None:
    proc = _talker()
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    out, err = end_process(proc, None, 10)  # it ends by itself
    assert (out, err, proc.returncode) == ("one\ntwo 2\nthree\n", "bye\n", 0)
    assert proc.stdout is not None and proc.stdout.closed


def test_end_process_kills_what_does_not_end_in_time() -> None:
    proc = subprocess.Popen([sys.executable, "-c",
                             "import signal, time; signal.signal(signal.SIGTERM, "
                             "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    end_process(proc, signal.SIGTERM, 0.5)
    assert proc.returncode == -signal.SIGKILL


def test_until_returns_the_value_and_fails_naming_what_it_waited_for() -> None:
    values = iter([0, None, "", 7])
    assert until(lambda: next(values), "a value", 5) == 7
    with pytest.raises(AssertionError, match=r"not within 0\.1 s: the moon"):
        until(lambda: False, lambda: "the moon", 0.1)
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(AssertionError, match=r"the process ended \(3\): a line"):
        until(lambda: False, "a line", 30, proc=proc)


def test_collector_waits_for_a_message_from_another_thread() -> None:
    sink = Collector(timeout=5)
    sink(Battery("ox", 1.0, 1.0, 50.0))
    later = threading.Timer(0.05, sink, [Numerics("ox", 2.0, 2.0, (("hr", 70.0),))])
    later.start()
    i, _, msg = sink.wait_for(lambda m: isinstance(m, Numerics))
    assert (i, msg) == (1, Numerics("ox", 2.0, 2.0, (("hr", 70.0),)))
    with pytest.raises(AssertionError, match=r"no such message within 0\.1 s"):
        sink.wait_for(lambda m: isinstance(m, Numerics), after=2, timeout=0.1)
    assert sink.since(1) == [msg]
