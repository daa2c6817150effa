"""ReportData from small hand-made sessions: artefacts, missing values, gaps, no dose."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import numpy as np

from monitor.messages import Numerics
from monitor.reports.charts import Axis, envelope, technical_episodes
from monitor.reports.data import load_report
from monitor.reports.pdf import build_pdf
from monitor.session import DoseProtocol, Patient, SessionStatus
from monitor.store import SessionStore
from tests.helpers.processes import vigil

START = 1_790_000_000.0


def _session(db: Path, msgs: list[tuple[float, tuple[tuple[str, float], ...]]],
             end_t_s: float) -> int:
    with SessionStore(db) as store:
        sid = store.create_session(Patient("AB", None), DoseProtocol(), None, START)
        writer = store.writer(sid)
        for t, values in msgs:
            writer.put(Numerics("mon", START + t, t, values))
        writer.close()
        store.end_session(sid, SessionStatus.COMPLETED, START + end_t_s)
    return sid


def test_artefacts_are_excluded_and_missing_stays_missing(db_path: Path) -> None:
    msgs = [(float(t), (("hr", 70.0 + t % 7), ("spo2", 97.0))) for t in range(0, 600)]
    msgs[100] = (100.0, (("hr", 0.0), ("spo2", 0.0)))  # the monitor's "no value"
    msgs.append((150.0, (("sbp", 0.0), ("dbp", 80.0), ("map", 95.0))))  # a failed systolic
    msgs.append((450.0, (("sbp", 131.0), ("dbp", 84.0), ("map", 100.0))))
    sid = _session(db_path, sorted(msgs), 600.0)
    with SessionStore(db_path) as store:
        data = load_report(store, sid)
    assert data.excluded == 3
    assert data.extremes["hr"].min_value == 70.0 and data.extremes["spo2"].min_value == 97.0
    assert data.extremes["sbp"].min_value == 131.0  # the 0 is not a minimum
    assert [(r.t_s, r.sbp, r.dbp) for r in data.nibp] == [(150.0, None, 80.0),
                                                          (450.0, 131.0, 84.0)]
    assert "rr" not in data.extremes and "rr" not in data.baseline  # never measured
    rows = dict(data.table_rows())
    assert rows[300.0]["rr"][0] is None and rows[300.0]["hr"][0] == 70.0 + 300 % 7
    # No dose: no REMS blood pressures, nothing invented.
    assert data.doses == () and data.rems.bp_pre is None and data.rems.bp_40 is None
    assert data.rems.sedation is None and data.rems.dissociation is None
    buf = io.BytesIO()
    assert build_pdf(data, buf) >= 3
    path = db_path.with_suffix(".pdf")
    path.write_bytes(buf.getvalue())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "No dose was recorded" in text and "3 implausible values were excluded" in text
    assert "not rated" in text
    assert "--/80 (95)" in text  # the failed systolic shows as dashes, not 0


def test_chart_lines_break_at_gaps_and_keep_brief_dips() -> None:
    t = np.r_[np.arange(0.0, 600.0), np.arange(900.0, 1800.0)]
    v = np.full(len(t), 97.0)
    v[300] = 84.0  # a one-second desaturation
    axis = Axis(0.0, 1800.0, 0.0, 200.0)  # 400 columns for 1500 samples
    lines = envelope(t, v, axis, gap_s=30.0)
    assert len(lines) == 2  # not drawn across the 5 minutes without data
    assert min(y for line in lines for _, y in line) == 84.0
    assert lines[0][-1][0] < axis.x(600.0) <= axis.x(900.0) <= lines[1][0][0]


def test_probe_off_is_a_technical_episode(db_path: Path) -> None:
    vigil("record", "--device", "sim:probe-off", "--duration", "2400", "--speed", "max",
          "--db", str(db_path))
    with SessionStore(db_path) as store:
        data = load_report(store, store.resolve_session("latest"))
    episodes = [e for e in technical_episodes(data) if "sensor off" in e[2]]
    [(start, end, _label)] = episodes
    dose = data.dose_start_s
    assert dose is not None
    assert abs(start - (dose + 2 * 60)) < 1 and abs(end - start - 90) < 1  # the scenario's
    spo2 = data.series["spo2"]
    assert not np.any((spo2.t_s > start + 1) & (spo2.t_s < end - 1))  # no value invented
