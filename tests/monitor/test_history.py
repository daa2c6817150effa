"""The session browser's Qt-free core: listing, filtering, and reading a session back into
trend buffers, from a store written through the real store API."""

from __future__ import annotations

import math
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from alarms.episodes import episodes_from_events
from alarms.model import (
    AlarmEvent,
    AlarmEventKind,
    AlarmKind,
    AlarmState,
    AlarmStatus,
    Priority,
)
from monitor.history import SessionFilter, filter_rows, list_session_rows, load_history
from monitor.messages import Condition, DeviceCondition, DeviceState, DeviceStatus, Numerics
from monitor.session import DoseProtocol, EntryKind, Patient, Route, SessionStatus
from monitor.session_export import export_session, suggested_name
from monitor.store import SessionStore

# Three clinic days at 09:00 local time.
DAY0 = datetime(2026, 3, 2, 9, 0).timestamp()
DAY_S = 86400.0


def _alarm(key: str, kind: AlarmKind, vital: str | None, onset: float, signal: float,
           priority: Priority = Priority.MEDIUM, worst: float | None = None) -> AlarmStatus:
    return AlarmStatus(key, kind, priority, vital, key.split(":")[0], key, AlarmState.ACTIVE,
                       onset, signal, worst, None, False)


def _record(store: SessionStore, patient: str, start: float, minutes: int,
            status: SessionStatus | None = SessionStatus.COMPLETED,
            alarms: list[tuple[AlarmStatus, float]] = ()) -> int:
    sid = store.create_session(Patient(patient, 70.0),
                               DoseProtocol("ketamine", Route.IV, 35.0, 40.0), "iv-ketamine",
                               start)
    writer = store.writer(sid)
    try:
        for t in range(minutes * 60):
            writer.put(Numerics("sim", start + t, float(t), (("hr", 70.0 + t % 5),
                                                            ("spo2", 97.0))))
        for a, end in alarms:
            writer.put(AlarmEvent(a.signal_t_s, start + a.signal_t_s, AlarmEventKind.START, a))
            writer.put(AlarmEvent(end, start + end, AlarmEventKind.END, a))
        assert writer.flush()
    finally:
        writer.close()
    if status is not None:
        store.end_session(sid, status, start + minutes * 60)
    return sid


@pytest.fixture
def store(db_path: Path):
    with SessionStore(db_path) as s:
        yield s


def test_sessions_listed_newest_first_with_alarm_counts(store: SessionStore) -> None:
    spo2 = _alarm("spo2-low:sim", AlarmKind.PHYSIOLOGICAL, "spo2", 100.0, 115.0)
    probe = _alarm("sensor-off:sim", AlarmKind.TECHNICAL, "spo2", 200.0, 210.0)
    a = _record(store, "AB", DAY0, 2, alarms=[(spo2, 130.0), (probe, 220.0)])
    b = _record(store, "CD", DAY0 + 2 * DAY_S, 1)
    c = _record(store, "ab-2", DAY0 + DAY_S, 1, status=SessionStatus.INTERRUPTED)
    rows = list_session_rows(store)
    assert [r.id for r in rows] == [b, c, a]
    by_id = {r.id: r for r in rows}
    assert (by_id[a].alarm_count, by_id[a].technical_count) == (1, 1)
    assert (by_id[b].alarm_count, by_id[b].technical_count) == (0, 0)
    assert by_id[a].sample_count == 2 * 60 * 2
    assert by_id[a].duration_s == 120.0
    assert by_id[c].status is SessionStatus.INTERRUPTED


def test_filter_by_patient_text_dates_and_status(store: SessionStore) -> None:
    a = _record(store, "AB-1001", DAY0, 1)
    b = _record(store, "CD-2002", DAY0 + DAY_S, 1, status=SessionStatus.INTERRUPTED)
    c = _record(store, "ab-1003", DAY0 + 2 * DAY_S, 1)
    rows = list_session_rows(store)

    def ids(**kw: object) -> list[int]:
        return [r.id for r in filter_rows(rows, SessionFilter(**kw))]

    d0 = date(2026, 3, 2)
    assert ids() == [c, b, a]
    assert ids(patient=" Ab-10 ") == [c, a]  # a part of it, any case, spaces ignored
    assert ids(patient="zz") == []
    assert ids(date_from=d0 + timedelta(days=1)) == [c, b]
    assert ids(date_to=d0 + timedelta(days=1)) == [b, a]
    assert ids(date_from=d0 + timedelta(days=1), date_to=d0 + timedelta(days=1)) == [b]
    assert ids(status=SessionStatus.INTERRUPTED) == [b]
    assert ids(patient="ab", status=SessionStatus.COMPLETED, date_from=d0) == [c, a]


def test_history_rebuilds_the_trend_as_the_live_dashboard_does(store: SessionStore) -> None:
    sid = store.create_session(Patient("AB", 70.0),
                               DoseProtocol("ketamine", Route.IV, 35.0, 40.0), None, DAY0)
    writer = store.writer(sid)
    values = [(0.0, 72.0), (1.0, 74.0), (2.0, 400.0), (3.0, 75.0), (60.0, 76.0)]
    status = _alarm("hr-high:sim", AlarmKind.PHYSIOLOGICAL, "hr", 1.0, 11.0,
                    Priority.MEDIUM, 150.0)
    try:
        for t, v in values:
            writer.put(Numerics("sim", DAY0 + t, t, (("hr", v),)))
        writer.put(DeviceStatus("sim", DAY0 + 30, 30.0, DeviceState.DISCONNECTED, "gone"))
        writer.put(DeviceCondition("sim", DAY0 + 31, 31.0, Condition.SENSOR_OFF, True, "spo2"))
        writer.put(AlarmEvent(11.0, DAY0 + 11, AlarmEventKind.START, status))
        writer.put(AlarmEvent(14.0, DAY0 + 14, AlarmEventKind.ESCALATE, status))
        assert writer.flush()
    finally:
        writer.close()
    store.add_entry(sid, EntryKind.DOSE_START, 20.0, DAY0 + 20, {"drug": "ketamine"}, "nurse")
    store.add_entry(sid, EntryKind.SEDATION, 40.0, DAY0 + 40, {"scale": "moaas", "score": 4},
                    "nurse")

    h = load_history(store, sid)
    assert h.session.status is SessionStatus.ACTIVE  # our own process still owns it
    assert h.end_s == 60.0  # no end yet: the last datum
    t, v = h.trends.series("hr")
    # The implausible 400 is NaN (an artefact is not physiology); the 57 s gap gets a NaN
    # after the staleness limit so the line breaks instead of bridging it.
    assert list(t[:4]) == [0.0, 1.0, 2.0, 3.0] and math.isnan(v[2])
    assert np.isnan(v[4]) and 3.0 < t[4] < 60.0 and t[-1] == 60.0 and v[-1] == 76.0
    assert h.dose_start_s == 20.0 and h.trends.dose_start_s() == 20.0
    # The stored route and infusion length drive the phases, as in the report.
    names = [p.name for p in h.trends.phases(h.end_s)]
    assert names[:2] == ["baseline", "dosing"]
    assert [p.name for p in h.phases()] == names
    dosing = h.trends.phases(h.end_s)[1]
    assert (dosing.start_s, dosing.end_s) == (20.0, 20.0 + 40 * 60)
    # The alarm is still open at the end of the record; escalated MEDIUM shows as HIGH.
    [ep] = h.trends.episodes()
    assert (ep.vital, ep.highest, ep.onset_t_s, ep.end_t_s) == ("hr", Priority.HIGH, 1.0, None)
    assert h.episodes == tuple(episodes_from_events(store.alarm_events(sid)))
    assert [(e.t_s, e.kind, e.code, e.active) for e in h.device_events] == [
        (30.0, "status", "disconnected", None), (31.0, "condition", "sensor_off", True)]


def test_history_of_a_completed_session_ends_at_its_end(store: SessionStore) -> None:
    sid = _record(store, "AB", DAY0, 2)
    h = load_history(store, sid)
    assert h.end_s == 120.0 and h.session.status is SessionStatus.COMPLETED
    t, v = h.trends.series("hr")
    assert len(t) == 120 and not np.isnan(v).any()
    assert h.trends.phases(h.end_s)[-1].end_s == 120.0  # no dose: one baseline phase


def test_reading_history_never_changes_the_store(db_path: Path) -> None:
    with SessionStore(db_path) as s:
        sid = _record(s, "AB", DAY0, 1, status=None)  # left active by a "dead" process
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE sessions SET owner_pid = 999999999 WHERE id = ?", (sid,))
    conn.close()
    before = db_path.read_bytes()
    with SessionStore(db_path, read_only=True) as ro:
        [row] = list_session_rows(ro)
        assert row.status is SessionStatus.INTERRUPTED  # reported, not written
        h = load_history(ro, sid)
        assert h.session.status is SessionStatus.INTERRUPTED
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["csv", "alarms", "pdf", "fhir"])
def test_export_session_writes_each_format(db_path: Path, tmp_path: Path, fmt: str) -> None:
    with SessionStore(db_path) as s:
        sid = _record(s, "AB-77", DAY0, 1)
    out = tmp_path / suggested_name(sid, fmt, deidentify=True)
    assert str(sid) not in out.name and "deidentified" in out.name
    what = export_session(db_path, sid, fmt, out, deidentify=True)
    data = out.read_bytes()
    assert what and data
    assert b"AB-77" not in data  # de-identified: no patient id in any format
    if fmt == "csv":
        assert data.splitlines()[0] == b"time_utc,t_s,vital,value,unit,source"
        assert b"2026-03-02" not in data  # dates shifted
        assert what == "120 rows"


def test_export_session_rejects_an_unknown_format(db_path: Path, tmp_path: Path) -> None:
    with SessionStore(db_path) as s:
        sid = _record(s, "AB", DAY0, 1)
    with pytest.raises(ValueError, match="unknown export format 'xls'"):
        export_session(db_path, sid, "xls", tmp_path / "x.xls")
    assert not (tmp_path / "x.xls").exists()
