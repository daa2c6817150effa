"""The report names people (staff sign-in, issue 14): who acknowledged each alarm, who made
each entry, and the signed-in clinician on the signature line."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

from alarms.model import AlarmEvent, AlarmEventKind
from monitor.reports.data import load_report
from monitor.reports.export import export_report
from monitor.store import SessionStore, append_alarm_events
from tests.monitor.reports.conftest import NURSE, Recorded


def test_the_pdf_says_who_acknowledged_and_who_signs(recorded: Recorded, store_copy: Path,
                                                     tmp_path: Path) -> None:
    with SessionStore(store_copy, read_only=True) as store:
        start = next(ev for ev in store.alarm_events(recorded.session_id)
                     if ev.event is AlarmEventKind.START and ev.alarm is not None)
    assert start.alarm is not None
    ack = AlarmEvent(start.t_s + 7.0, start.t_wall + 7.0, AlarmEventKind.ACKNOWLEDGE,
                     replace(start.alarm, acknowledged=True), "Ann Lee (nurse)")
    append_alarm_events(store_copy, recorded.session_id, [ack])
    out = tmp_path / "report.pdf"
    with SessionStore(store_copy, read_only=True) as store:
        rows = load_report(store, recorded.session_id).alarms or ()
        acked = [r for r in rows if r.acknowledged_s is not None]
        assert [(r.acknowledged_s, r.acknowledged_by) for r in acked] == [
            (start.t_s + 7.0, "Ann Lee (nurse)")]
        export_report(store, recorded.session_id, "pdf", out, clinician="Dr Kim")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "by Ann Lee (nurse)" in " ".join(text.split())  # the column may wrap it
    assert [ln for ln in text.splitlines() if "Clinician" in ln and "Dr Kim" in ln
            and "Signature" in ln]
    assert text.count(NURSE) >= 5  # the author column of each entry
