"""`main.py record --hl7` end to end: a replayed session fed to a real MLLP listener; every
message valid v2.6, every vital coded as the reference says, every value the vitals CSV's,
alarms as PCD-04 to a second listener, and `export --format hl7` the same messages."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from monitor.hl7.batch import rebuild
from monitor.hl7.messages import control_id_of
from monitor.store import SessionStore
from tests.hl7_listener import Listener, in_order_once, validated

REPO = Path(__file__).resolve().parents[2]
# MDC code -> vital key (../shared/reference/hl7.md §2)
MDC = {"147842": "hr", "149530": "pr", "150456": "spo2", "150021": "sbp", "150022": "dbp",
       "150023": "map", "151562": "rr"}


def main(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def hl7_time(text: str) -> str:
    """HL7 DTM (UTC) -> the CSV's ISO 8601 with milliseconds."""
    dt = datetime.strptime(text, "%Y%m%d%H%M%S.%f%z").astimezone(UTC)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_recording(path: Path) -> None:
    """Ten minutes: SpO2 falls to 84 (an alarm), one SpO2 artefact (0), HR stops at 5 min
    (stale afterwards), NIBP every 2 min with one inconsistent reading (SYS < DIA)."""
    rows = ["time_s,hr,pr,spo2,rr,sbp,dbp,map"]
    for t in range(0, 601, 5):
        hr = "" if t > 300 else str(70 + t % 7)
        spo2 = "0" if t == 100 else str(97 if t < 200 or t > 400 else 84)
        bp = ("", "", "")
        if t % 120 == 0:
            bp = ("75", "118", "90") if t == 240 else (str(120 + t // 60), "78", "92")
        rows.append(",".join([str(t), hr, str(71 + t % 5), spo2, "14", *bp]))
    path.write_text("\n".join(rows) + "\n")


def test_replayed_session_fed_values_equal_the_csv(tmp_path: Path) -> None:
    rec, db = tmp_path / "rec.csv", tmp_path / "v.sqlite3"
    write_recording(rec)
    vitals, alerts = Listener().start(), Listener().start()
    try:
        r = main("record", "--device", f"replay:{rec}", "--duration", "600", "--speed", "max",
                 "--db", str(db), "--patient", "MRN-77", "--hl7",
                 f"mllp://127.0.0.1:{vitals.port}", "--hl7-period", "30", "--hl7-alerts",
                 f"mllp://127.0.0.1:{alerts.port}")
        assert r.returncode == 0, r.stderr
        assert "MRN-77" not in r.stderr
        got, alarms = vitals.messages(), alerts.messages()
    finally:
        vitals.close()
        alerts.close()
    out = tmp_path / "vitals.csv"
    assert main("export", "--db", str(db), "--format", "csv", "--out", str(out)).returncode == 0
    with out.open() as f:
        csv_values = {(row["vital"], row["time_utc"]): row["value"] for row in csv.DictReader(f)}
    seen: dict[str, int] = {}
    start = datetime.fromisoformat(min(t for _, t in csv_values).replace("Z", "+00:00"))
    for m in got:
        validated(m)
        assert "|MRN-77^^^VIGIL^PI|" in m
        sent = datetime.strptime(m.split("|")[6], "%Y%m%d%H%M%S.%f%z")
        for seg in m.split("\r"):
            f = seg.split("|")
            if f[0] != "OBX" or f[2] != "NM":
                continue
            key = MDC[f[3].split("^")[0]]
            assert csv_values[(key, hl7_time(f[14]))] == f[5], seg
            seen[key] = seen.get(key, 0) + 1
            assert f[5] != "0"  # the SpO2 artefact at 100 s is never sent
            taken = datetime.strptime(f[14], "%Y%m%d%H%M%S.%f%z")
            if key in ("hr", "pr", "spo2", "rr"):  # current: under 30 s old when sent
                assert 0 <= (sent - taken).total_seconds() <= 30, seg
                assert key != "hr" or (taken - start).total_seconds() <= 300
    assert set(seen) == set(MDC.values())
    # Readings at 0, 2, 4, 6, 8 min (the session ends at 10), the one at 4 inconsistent.
    assert seen["sbp"] == 4
    # A message every 30 s from 30 s to 10 min; HR stops at 5 min, stale after 5:30.
    assert seen["rr"] in (19, 20) and seen["hr"] == 11
    assert in_order_once([control_id_of(m) for m in got]) == [control_id_of(m) for m in got]
    # The SpO2 alarm as PCD-04: start (and any priority change), then its end.
    spo2 = [m for m in alarms if "150456^MDC_PULS_OXIM_SAT_O2^MDC|1.2.1.1.2|" in m]
    phases = [seg.split("|")[5] for m in spo2 for seg in m.split("\r")
              if "MDC_ATTR_EVENT_PHASE" in seg]
    assert phases[0] == "start" and phases[-1] == "end", phases
    for m in alarms:
        validated(m)
    batch = tmp_path / "session.hl7"
    r = main("export", "--db", str(db), "--format", "hl7", "--out", str(batch))
    assert r.returncode == 0, r.stderr
    text = batch.read_bytes().decode("ascii")
    assert text.startswith("FHS|") and text.endswith(f"BTS|{len(got)}\rFTS|1\r")
    assert "".join(got) in text
    # Rebuilt from the store by the same builder, every 30 s: the same observations.
    with SessionStore(db, read_only=True) as store:
        again = rebuild(store, 1, period_s=30)
    assert [obx_of(m) for m in again] == [obx_of(m) for m in got]
    assert len({control_id_of(m) for m in again} & {control_id_of(m) for m in got}) == 0


def obx_of(message: str) -> list[tuple[str, str, str]]:
    """(OBX-3, OBX-5, OBX-14) of each observation."""
    return [(f[3], f[5], f[14]) for f in (s.split("|") for s in message.split("\r"))
            if f[0] == "OBX" and len(f) > 14]


def test_a_session_recorded_without_the_feed_exports_its_messages(tmp_path: Path) -> None:
    """`export --format hl7` rebuilds them from the store; values equal the CSV's, and a
    de-identified batch equals the de-identified CSV (same pseudonym, same date shift)."""
    rec, db = tmp_path / "rec.csv", tmp_path / "v.sqlite3"
    write_recording(rec)
    r = main("record", "--device", f"replay:{rec}", "--duration", "600", "--speed", "max",
             "--db", str(db), "--patient", "MRN-88")
    assert r.returncode == 0, r.stderr
    for extra in ((), ("--deidentify",)):
        csv_out, batch = tmp_path / "v.csv", tmp_path / "v.hl7"
        assert main("export", "--db", str(db), "--format", "csv", "--out", str(csv_out),
                    *extra).returncode == 0
        r = main("export", "--db", str(db), "--format", "hl7", "--out", str(batch), *extra)
        assert r.returncode == 0, r.stderr
        assert "messages written" in r.stderr
        with csv_out.open() as f:
            csv_values = {(row["vital"], row["time_utc"]): row["value"]
                          for row in csv.DictReader(f)}
        text = batch.read_bytes().decode("ascii")
        messages = ["MSH|" + m for m in text.split("\rMSH|")[1:]]
        messages[-1] = messages[-1].split("BTS|")[0]
        # Every 60 s from 1 to 9 min (none at the end), and the 4 consistent NIBP readings.
        assert text.endswith(f"BTS|{len(messages)}\rFTS|1\r") and len(messages) == 13
        keys = set()
        for m in messages:
            validated(m)
            assert ("MRN-88" in m) == (not extra)
            for code, value, when in obx_of(m):
                if code.split("^")[0] in MDC:
                    key = MDC[code.split("^")[0]]
                    assert csv_values[(key, hl7_time(when))] == value
                    keys.add(key)
        assert keys == set(MDC.values())


def test_a_silent_receiver_is_ehr_feed_down(tmp_path: Path) -> None:
    """The LOW technical alarm through the engine, as `--live` prints it (the 5 min are
    shortened by a hidden option)."""
    listener = Listener()  # its port is not listening
    try:
        r = main("record", "--device", "sim", "--duration", "3", "--live", "--db",
                 str(tmp_path / "v.sqlite3"), "--hl7", f"mllp://127.0.0.1:{listener.port}",
                 "--hl7-period", "0.5", "--hl7-down-after", "1")
    finally:
        listener.close()
    assert r.returncode == 0, r.stderr
    assert "alarm: start * EHR feed down (technical)" in r.stdout, r.stdout
    assert "not yet acknowledged; kept in the store" in r.stderr
