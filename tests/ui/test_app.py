"""The real window on the simulator, and the CLI staying free of Qt."""

from __future__ import annotations

import subprocess
import sys
import threading

from ui_fakes import FakeAlarmSource, FakeAudioOutput, open_window

from alarms.episodes import episodes_from_events
from devices.spec import parse_spec
from monitor.recorder import RecordingPlan
from monitor.store import SessionStore
from tests.helpers.paths import REPO
from ui.app import DashboardSession, nibp_interval


def test_real_window_on_the_simulator_runs_and_stops_cleanly(qtbot, tmp_path):
    """A short real-time smoke run: the sim's numerics reach the tiles through the bridge,
    the pleth sweeps, alarm commands reach the engine on the device thread, and closing
    the window ends the session and its threads (the conftest guard checks)."""
    plan = RecordingPlan((parse_spec("sim:normal?nibp=60"),), 3600.0, 1.0)
    with SessionStore(tmp_path / "vigil.sqlite3") as store:
        engines: list[FakeAlarmSource] = []

        def factory(recorder):
            engine = FakeAlarmSource(recorder.clock)  # type: ignore[arg-type]
            engines.append(engine)
            return engine

        session = DashboardSession(store, plan, factory)
        window = open_window(qtbot, tmp_path, session, FakeAudioOutput(available=False))
        try:
            qtbot.waitUntil(lambda: window.tiles["hr"].content.live, timeout=5000)
            qtbot.waitUntil(lambda: window.pleth.frames >= 3, timeout=5000)
            assert window.tiles["hr"].content.value.isdigit()
            assert window.tiles["hr"].content.limits == "120\n50"
            qtbot.waitUntil(lambda: any("audio output unavailable" in a.message
                                        for a in window.strip.alarms), timeout=5000)
            assert engines[0].calls[0] == ("audio_available=False", "device-io")
            assert window.device_states.get("sim") is not None
        finally:
            window.close()
        assert not session.io.running
        assert not any(t.name == "device-io" and t.is_alive() for t in threading.enumerate())
        summary = store.list_sessions()[0]
        # Closed without a discharge: interrupted (to be resumed), never completed.
        assert str(summary.status) == "interrupted" and summary.sample_count > 0


def test_nibp_interval_comes_from_the_sim_spec():
    assert nibp_interval((parse_spec("sim:normal?nibp=120"),)) == 120.0
    assert nibp_interval((parse_spec("sim"),)) == 300.0


def test_cli_commands_never_import_qt(tmp_path):
    code = ("import sys, main; rc = main.main(['sessions', '--db', sys.argv[1]]); "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'ui'))]; "
            "print(bad); sys.exit(rc or bool(bad))")
    SessionStore(tmp_path / "v.sqlite3").close()  # `sessions` only reads an existing store
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.sqlite3")],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_real_alarm_engine_drives_banner_tiles_and_acknowledge(qtbot, tmp_path):
    """The recorder's own engine (no fake): a desaturation reaches the banner as a HIGH
    alarm, the SpO2 tile shows the limits in force, and acknowledging reaches the engine."""
    # 300x real time: the desaturation at 3 min arrives within a second.
    plan = RecordingPlan((parse_spec("sim:desaturation?dose=0"),), 3600.0, 300.0)
    with SessionStore(tmp_path / "vigil.sqlite3") as store:
        session = DashboardSession(store, plan)
        window = open_window(qtbot, tmp_path, session, FakeAudioOutput(available=True))
        try:
            assert window.tiles["spo2"].content.limits == "off\n90"
            qtbot.waitUntil(lambda: any(a.vital == "spo2" and a.priority.name == "HIGH"
                                        for a in window.banner.alarms), timeout=20000)
            high = next(a for a in window.banner.alarms if a.priority.name == "HIGH")
            assert not high.acknowledged
            window.acknowledge()
            qtbot.waitUntil(lambda: all(a.acknowledged for a in window.banner.alarms
                                        if a.key == high.key), timeout=5000)
        finally:
            window.close()
    with SessionStore(tmp_path / "vigil.sqlite3", read_only=True) as store:
        events = store.alarm_events(1)
    assert any(e.event.value == "acknowledge" and e.alarm is not None
               and e.alarm.key == high.key for e in events)
    # The dashboard's trend folded the engine's events as the store logged them.
    shown = [tuple(e) for e in session.trends.episodes()]
    assert shown == [tuple(e) for e in episodes_from_events(events)]
    assert any(e.key == high.key and e.acknowledged_t_s is not None
               for e in session.trends.episodes())
