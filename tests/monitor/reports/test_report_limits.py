"""Limits changed during a session reach the report; the alarm CSV stays episodes only."""

from __future__ import annotations

import io
from pathlib import Path

from alarms.engine import AlarmEngine
from alarms.presets import PRESETS
from monitor.export_alarms import HEADER, write_alarms_csv
from monitor.reports.data import LimitChangeRow, deidentify, load_report
from monitor.reports.pdf import build_pdf
from monitor.store import SessionStore
from tests.monitor.reports.conftest import NURSE, Recorded
from tests.monitor.reports.test_report_pdf import pdf_text


def test_limit_change_is_in_the_report_and_not_in_the_alarm_csv(
        recorded: Recorded, store_copy: Path, tmp_path: Path) -> None:
    with SessionStore(store_copy) as store:
        before = io.StringIO()
        n_before = write_alarms_csv(store, recorded.session_id, before)
        session = store.load_session(recorded.session_id)
        engine = AlarmEngine(PRESETS["iv-ketamine"], wall0=session.start_wall)
        writer = store.writer(recorded.session_id)
        engine.add_listener(writer.put)
        t = recorded.dose_s + 600
        engine.set_limit("spo2-low", 88, NURSE, t_s=t)
        writer.close()
        data = load_report(store, recorded.session_id)
        after = io.StringIO()
        assert write_alarms_csv(store, recorded.session_id, after) == n_before
    assert after.getvalue() == before.getvalue()
    assert after.getvalue().splitlines()[0] == ",".join(HEADER)
    assert data.limit_changes == (LimitChangeRow(t, "spo2", "SpO2 LOW", 90, 88, NURSE),)
    assert deidentify(data).limit_changes == data.limit_changes  # session seconds only
    buf = io.BytesIO()
    build_pdf(data, buf)
    text = "\n".join(pdf_text(buf.getvalue(), tmp_path))
    assert "Alarm limits changed during the session" in text
    line = next(ln for ln in text.splitlines() if "SpO2 LOW" in ln and "88 %" in ln)
    assert "+10:00" in line and "90 %" in line and NURSE in line
