"""PCD-01 and PCD-04 messages: every one parses against the HL7 v2.6 structures (hl7apy),
and carries the codes, units, containment, times and devices of the reference table."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from alarms.model import AlarmEvent, AlarmEventKind, AlarmKind, AlarmState, AlarmStatus, Priority
from monitor.atomic import ExportError
from monitor.hl7.batch import write_batch
from monitor.hl7.messages import (
    AckError,
    Observation,
    Party,
    ack,
    dtm,
    oru_r01,
    oru_r40,
    parse_ack,
)
from monitor.hl7.outbox import Channel, Outbox
from monitor.session import DoseProtocol, Patient, SessionStatus
from monitor.store import SessionStore
from tests.hl7_listener import validated

# ../shared/reference/hl7.md §2, typed in here: vital -> (code, MDC name, unit code, unit)
REFERENCE = {
    "hr": ("147842", "MDC_ECG_HEART_RATE", "264864", "MDC_DIM_BEAT_PER_MIN"),
    "pr": ("149530", "MDC_PULS_OXIM_PULS_RATE", "264864", "MDC_DIM_BEAT_PER_MIN"),
    "spo2": ("150456", "MDC_PULS_OXIM_SAT_O2", "262688", "MDC_DIM_PERCENT"),
    "sbp": ("150021", "MDC_PRESS_BLD_NONINV_SYS", "266016", "MDC_DIM_MMHG"),
    "dbp": ("150022", "MDC_PRESS_BLD_NONINV_DIA", "266016", "MDC_DIM_MMHG"),
    "map": ("150023", "MDC_PRESS_BLD_NONINV_MEAN", "266016", "MDC_DIM_MMHG"),
    "rr": ("151562", "MDC_RESP_RATE", "264928", "MDC_DIM_RESP_PER_MIN"),
}
T0 = 1_795_000_000.25  # 2026-11-18T11:06:40.250Z


def obx_rows(text: str) -> list[list[str]]:
    return [s.split("|") for s in text.split("\r") if s.startswith("OBX|")]


def test_every_vital_has_its_mdc_code_unit_path_time_and_device() -> None:
    obs = [Observation(k, 50.0 + i, T0 + i, "masimo") for i, k in enumerate(REFERENCE)]
    text = oru_r01(Party("MRN|42", "0123456789ABCDEF"), "S-1", T0 + 10, obs)
    msg = validated(text)
    assert msg.msh.msh_9.to_er7() == "ORU^R01^ORU_R01"  # type: ignore[attr-defined]
    assert msg.msh.msh_10.to_er7() == "S-1"  # type: ignore[attr-defined]
    assert msg.msh.msh_12.to_er7() == "2.6"  # type: ignore[attr-defined]
    assert "PID|||MRN\\F\\42^^^VIGIL^PI" in text  # the separator in the id is escaped
    rows = obx_rows(text)
    assert rows[0][3].startswith("69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC")
    assert rows[0][4] == "1.0.0.0" and rows[0][11] == "X"
    paths = []
    for row, (i, key) in zip(rows[1:], enumerate(REFERENCE), strict=True):
        code, name, ucode, uname = REFERENCE[key]
        assert row[2] == "NM"
        assert row[3] == f"{code}^{name}^MDC"
        assert row[5] == f"{50 + i}"
        assert row[6] == f"{ucode}^{uname}^MDC"
        assert row[11] == "R"
        assert row[14] == dtm(T0 + i)
        assert row[18].startswith("masimo^VIGIL^0123456789ABCDEF^EUI-64")
        paths.append(row[4])
    assert len(set(paths)) == len(paths) and all(p.count(".") == 3 for p in paths)
    assert dtm(T0) == "20261118110640.250+0000"


def test_scores_go_as_local_codes_and_no_number_is_made_up() -> None:
    text = oru_r01(Party("P-1", "0123456789ABCDEF"), "S-2", T0,
                   [Observation("moaas", 3, T0), Observation("aldrete", 9, T0)])
    validated(text)
    rows = obx_rows(text)
    assert [r[3] for r in rows[1:]] == ["VGL-MOAAS^MOAA/S^99VGL",
                                        "VGL-ALDRETE^Modified Aldrete score^99VGL"]
    assert [r[5] for r in rows[1:]] == ["3", "9"]
    with pytest.raises(ValueError, match="spo2: not a finite number"):
        oru_r01(Party("P-1", "X"), "S-3", T0, [Observation("spo2", float("nan"), T0)])


@pytest.mark.parametrize("event", [AlarmEventKind.START, AlarmEventKind.PRIORITY,
                                   AlarmEventKind.ACKNOWLEDGE, AlarmEventKind.END])
def test_alarm_events_as_pcd04(event: AlarmEventKind) -> None:
    ended = event is AlarmEventKind.END
    status = AlarmStatus("spo2-low", AlarmKind.PHYSIOLOGICAL, Priority.HIGH, "spo2",
                         "SpO2 LOW", "*** SpO2 82 < 85",
                         AlarmState.ENDED if ended else AlarmState.ACTIVE, 10.0, 20.0, 82.0,
                         85.0, event is AlarmEventKind.ACKNOWLEDGE)
    text = oru_r40(Party("P-1", "0123456789ABCDEF"), "A-1",
                   AlarmEvent(30.0, T0 + 30, event, status), T0)
    msg = validated(text)
    assert msg.msh.msh_9.to_er7() == "ORU^R40^ORU_R01"  # type: ignore[attr-defined]
    attrs = {r[3].split("^")[1]: r[5] for r in obx_rows(text)}
    assert attrs["MDC_PULS_OXIM_SAT_O2"] == "82"
    assert attrs["MDC_ATTR_ALARM_PRIORITY"] == "PH"
    assert attrs["MDC_ATTR_ALERT_TYPE"] == "SP"
    assert attrs["MDC_ATTR_EVENT_PHASE"] == {"start": "start", "priority": "update",
                                             "acknowledge": "update", "end": "end"}[event]
    assert attrs["MDC_ATTR_ALARM_STATE"] == ("inactive" if ended else "active")
    assert attrs["MDC_ATTR_ALARM_INACTIVATION_STATE"] == (
        "alert-acknowledged" if event is AlarmEventKind.ACKNOWLEDGE else "enabled")
    assert f"|{dtm(T0 + 10)}" in text.split("\r")[3]  # OBR-7: the alarm's onset


def test_acks() -> None:
    msg = oru_r01(Party("P-1", "X"), "S-9", T0, [Observation("hr", 60, T0, "sim")])
    for code in ("AA", "AE", "AR"):
        text = ack(msg, code, "why")
        validated(text)
        got = parse_ack(text)
        assert (got.code, got.control_id, got.text) == (code, "S-9", "why")
        assert got.accepted == (code == "AA")
    with pytest.raises(AckError, match="no MSA"):
        parse_ack("MSH|^~\\&|X\rPID|||1\r")


def test_batch_file_holds_the_session_messages(db_path: Path) -> None:
    with SessionStore(db_path) as store:
        sid = store.create_session(Patient("P-7"), DoseProtocol(), None, time.time())
        uuid = store.load_session(sid).uuid
        box = Outbox(db_path, sid, uuid)
        built = [box.add(Channel.PCD01, T0 + i, lambda cid, i=i: oru_r01(
            Party("P-7", "X"), cid, T0 + i, [Observation("hr", 60 + i, T0 + i, "sim")]))
            for i in range(3)]
        box.add(Channel.PCD04, T0, lambda cid: "not in the batch")
        box.close()
        out = io.StringIO()
        assert write_batch(store, sid, out) == 3
        other = store.create_session(Patient(), DoseProtocol(), None, time.time())
        store.end_session(other, SessionStatus.COMPLETED, time.time())
        with pytest.raises(ExportError, match=f"session {other} has no measured values"):
            write_batch(store, other, io.StringIO())
    segs = out.getvalue().split("\r")
    assert segs[0].startswith("FHS|^~\\&|") and segs[1].startswith("BHS|^~\\&|")
    assert segs[-3:] == ["BTS|3", "FTS|1", ""]
    ids = [s.split("|")[9] for s in segs if s.startswith("MSH|")]
    assert ids == built == [f"{uuid.replace('-', '')[:12].upper()}-{n}" for n in (1, 2, 3)]
    body = "\r".join(segs[2:-3]) + "\r"
    for m in body.split("MSH|")[1:]:
        validated("MSH|" + m)


def test_a_resumed_session_continues_its_ids(db_path: Path) -> None:
    """A resumed session (same id) numbers on from its last message: no MSH-10 reused."""
    with SessionStore(db_path) as store:
        sid = store.create_session(Patient(), DoseProtocol(), None, time.time())
        uuid = store.load_session(sid).uuid
    ids = []
    for _ in range(2):
        box = Outbox(db_path, sid, uuid)
        ids += [box.add(Channel.PCD01, T0, lambda cid: cid) for _ in range(2)]
        box.close()
    prefix = uuid.replace("-", "")[:12].upper()
    assert ids == [f"{prefix}-{n}" for n in (1, 2, 3, 4)]
