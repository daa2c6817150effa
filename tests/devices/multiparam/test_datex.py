"""GE S/5 DRI: framing and requests against GE's byte examples; session against the fake.

Hex strings are the S5CI appendix examples as given in shared/reference/multiparam.md §B.
"""

from __future__ import annotations

import struct

import pytest

from alarms.engine import AlarmEngine
from alarms.episodes import Episode, episodes_from_events
from alarms.model import AlarmEvent, AlarmKind, Priority
from alarms.presets import PRESETS
from devices.conditions import ConditionChange
from devices.multiparam.datex import records as dri
from devices.multiparam.datex.framing import FrameDecoder, checksum, encode_frame
from devices.multiparam.datex.session import DatexSession, Timing
from devices.multiparam.events import LinkDown, LinkUp, MonitorReading, to_messages
from devices.multiparam.fakes.datex import EPOCH, FakeDatex, FakeDatexConfig
from devices.multiparam.fakes.wire import BackToBack
from monitor.messages import Condition

DT = 0.1
GE_DISPLAYED_10S = bytes.fromhex(
    "7e 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
    "00 00 00 00 00 00 ff 00 00 00 00 00 00 00 00 00"
    "00 00 00 00 00 00 00 00 00 01 0a 00 0e 00 00 00"
    "00 00 49 7e")


def test_request_for_displayed_values_is_ges_example() -> None:
    assert encode_frame(dri.request(dri.DRI_PH_DISPL, 10)) == GE_DISPLAYED_10S
    assert dri.request(dri.DRI_PH_DISPL, 10)[21] == 0xFF  # end of subrecord list at offset 21


def test_derived_requests_checksums() -> None:
    assert encode_frame(dri.request(dri.DRI_PH_DISPL, 5))[-2:] == b"\x44\x7e"
    stop = encode_frame(dri.request(dri.DRI_PH_DISPL, 0, 0))
    assert stop.endswith(bytes.fromhex("00 01 00 00 00 00 00 00 00 00 31 7e"))
    trend = encode_frame(dri.request(dri.DRI_PH_60S_TREND, 60))
    assert trend.endswith(b"\x7d\x5d\x7e")  # checksum 0x7D, escaped


def test_session_stop_request_is_ges_stop() -> None:
    s = DatexSession()
    s.start(0.0)
    assert s.close(1.0).endswith(bytes.fromhex("00 01 00 00 00 00 00 00 00 00 31 7e"))


@pytest.mark.parametrize("interval", [1, 4, -2])
def test_interval_below_5_s_is_refused(interval: int) -> None:
    with pytest.raises(ValueError, match="interval"):
        dri.request(dri.DRI_PH_DISPL, interval)


def test_framing_escapes_flags_and_checksum() -> None:
    rec = b"\x7e\x7d\x01" + bytes(40)
    frame = encode_frame(rec)
    assert frame[1:5] == b"\x7d\x5e\x7d\x5d" and frame.count(0x7E) == 2
    assert FrameDecoder().feed(frame) == [rec]
    rec2 = b"\x7d" + bytes(2)  # checksum 0x7D is escaped too
    assert checksum(rec2) == 0x7D and encode_frame(rec2).endswith(b"\x7d\x5d\x7e")


def test_deframer_resyncs_on_split_garbage_and_bad_checksum() -> None:
    recs = [bytes(range(60)), b"\x7e" * 50, dri.request()]
    frames = [encode_frame(r) for r in recs]
    bad = bytearray(frames[1])
    bad[5] ^= 1
    stream = b"junk" + frames[0] + bytes(bad) + frames[1][:9] + frames[1] + frames[2]
    for chunk in (1, 3, 50, len(stream)):
        dec = FrameDecoder()
        got = [r for i in range(0, len(stream), chunk) for r in dec.feed(stream[i:i + chunk])]
        assert got == recs
        assert dec.stats.bad_checksum >= 1


def test_subrecords_are_identified_by_class_not_position() -> None:
    fake = FakeDatex()
    rec = dri.parse_record(fake._phdb_record(12.0))
    assert rec is not None and rec.dri_level == 9 and rec.maintype == dri.DRI_MT_PHDB
    assert [s.sr_type for s in rec.subrecords] == [1, 1, 1]
    assert [dri.subrecord_class(s.data) for s in rec.subrecords] == [1, 0, 3]
    assert len(fake._phdb_record(12.0)) == 40 + 3 * 278  # r_len 874, as the real capture
    basic = dri.find_basic(rec)
    truth = fake.sent[-1]
    assert basic is not None and basic.time == EPOCH + 12
    assert basic.ecg.fields[0] == truth.hr != 222  # not the ext1 subrecord's number


def test_units_and_scales() -> None:
    """HR and pulse are whole 1/min; SpO2 1/100 %; NIBP 1/100 mmHg (DRI p.23-29)."""
    fake = FakeDatex(FakeDatexConfig(nibp_first_s=0.0))
    host = DatexSession()
    host.start(0.0)
    fake.feed(host.poll(0.0), 0.0)
    events = host.feed(fake.poll(0.0), 0.0)
    sent = fake.sent[-1]
    live = next(e for e in events if isinstance(e, MonitorReading) and "hr" in dict(e.values))
    assert dict(live.values) == {"hr": float(sent.hr), "pr": float(sent.pr),
                                 "spo2": sent.spo2 / 100}
    events = host.feed(fake.poll(0.1), 0.1) + host.feed(b"", 11.5)  # AUX answered, or wait
    fake.feed(host.poll(0.1), 0.1)
    events += host.feed(fake.poll(0.2), 0.2)
    nibp = [e for e in events if isinstance(e, MonitorReading) and "sbp" in dict(e.values)]
    assert [dict(e.values) for e in nibp] == [{"sbp": sent.nibp[0] / 100,
                                               "dbp": sent.nibp[1] / 100,
                                               "map": sent.nibp[2] / 100}]


def wired(cfg: FakeDatexConfig | None = None, timing: Timing | None = None
          ) -> tuple[BackToBack, DatexSession, FakeDatex]:
    host, mon = DatexSession(timing), FakeDatex(cfg)
    host.start(0.0)
    return BackToBack(host, mon, DT), host, mon


def test_numerics_follow_the_monitor() -> None:
    w, host, mon = wired()
    w.run_until(60.0)
    live = [e for _, e in w.of(MonitorReading) if "hr" in dict(e.values)]
    assert len(live) == len(mon.sent) == 12 and host.up
    for r, s in zip(live, mon.sent, strict=True):
        assert dict(r.values) == {"hr": s.hr, "pr": s.pr, "spo2": s.spo2 / 100}
    assert mon.requests[0] == (dri.DRI_PH_DISPL, 5, dri.CLASS_BF_ALL)


def test_nibp_once_per_measurement_with_its_own_time() -> None:
    cfg = FakeDatexConfig(nibp_first_s=17.0, nibp_interval_s=70.0)
    w, _, mon = wired(cfg)
    w.run_until(300.0)
    got = [(t, e) for t, e in w.of(MonitorReading) if "sbp" in dict(e.values)]
    truth = [m for m in map(mon.nibp_at, range(10)) if m.t_s < 295]
    assert len(got) == len(truth) == 4
    for (t, r), m in zip(got, truth, strict=True):
        assert dict(r.values) == {"sbp": m.sbp, "dbp": m.dbp, "map": m.map}
        assert t - r.age_s == pytest.approx(m.t_s, abs=1.0)  # the monitor's whole seconds
    aux = [r for r in mon.requests if r[0] == dri.DRI_PH_AUX_INFO]
    assert len(aux) == 4 and all(r[1] == -1 for r in aux)


def test_nibp_without_aux_answer_is_kept_without_its_time() -> None:
    cfg = FakeDatexConfig(nibp_first_s=17.0, nibp_interval_s=70.0, answer_aux=False)
    w, host, _ = wired(cfg)
    w.run_until(110.0)
    got = [(t, e) for t, e in w.of(MonitorReading) if "sbp" in dict(e.values)]
    assert len(got) == 2
    for (t, r), shown in zip(got, (20.0, 90.0), strict=True):  # first displayed at
        assert t == pytest.approx(shown + host.timing.aux_wait_s, abs=DT + 1e-6)
        assert t - r.age_s == pytest.approx(shown, abs=DT + 1e-6)


def test_old_nibp_without_its_time_is_not_recorded() -> None:
    """Vigil starts 90 s after a measurement, the monitor labels it older than 60 s and does
    not answer AUX_INFO: its time is unknown, so it is not recorded; the next one is."""
    cfg = FakeDatexConfig(nibp_first_s=17.0, nibp_interval_s=150.0, answer_aux=False)
    host, mon = DatexSession(), FakeDatex(cfg)
    w = BackToBack(host, mon, DT)
    w.run_until(107.0)
    host.start(107.0)
    w.run_until(200.0)
    old = [s for s in mon.sent if s.t_s < 137.0]
    assert old and all(s.nibp_label == dri.NIBP_LABEL_OLD for s in old)  # shown, labelled old
    got = [(t, e) for t, e in w.of(MonitorReading) if "sbp" in dict(e.values)]
    m = mon.nibp_at(1)
    assert [dict(r.values) for _, r in got] == [{"sbp": m.sbp, "dbp": m.dbp, "map": m.map}]


def test_codes_are_conditions_never_numbers() -> None:
    cfg = FakeDatexConfig(nibp_first_s=0.0, codes=(
        (10, 20, "spo2", dri.DATA_INVALID), (10, 20, "pr", dri.DATA_NOT_UPDATED),
        (25, 35, "hr", dri.DATA_OVER_RANGE), (40, 50, "sbp", dri.DATA_INVALID)))
    w, _, _ = wired(cfg)
    w.run_until(60.0)
    expect = {"spo2": Condition.MEASUREMENT_INVALID, "pr": Condition.SEARCHING,
              "hr": Condition.MEASUREMENT_INVALID, "sbp": Condition.MEASUREMENT_INVALID}
    windows = {"spo2": (10, 20), "pr": (10, 20), "hr": (25, 35), "sbp": (40, 50)}
    for vital, cond in expect.items():
        t0, t1 = windows[vital]
        ch = [(t, c) for t, c in w.of(ConditionChange) if c.vital == vital]
        assert [(c.condition, c.active) for _, c in ch] == [(cond, True), (cond, False)]
        assert t0 <= ch[0][0] < t0 + 5 and t1 <= ch[1][0] < t1 + 5
        assert not [t for t, r in w.of(MonitorReading) if vital in dict(r.values) and t0 < t < t1]


def test_silent_monitor_is_disconnected_then_asked_again() -> None:
    w, host, mon = wired()
    w.run_until(80.0, at={30.2: lambda _: setattr(mon, "muted", True),
                          50.0: lambda _: setattr(mon, "muted", False)})
    (t_down, down), = w.of(LinkDown)
    last = max(t for t, _ in w.of(MonitorReading) if t < 30.2)
    assert down.reason == "no data from the monitor for 12 s"
    assert host.timing.silence_s <= t_down - last <= host.timing.silence_s + DT + 1e-6
    ups = [t for t, _ in w.of(LinkUp)]
    assert len(ups) == 2 and 50.0 <= ups[1] <= 55.0 + DT


def test_power_cycled_monitor_gets_the_request_again() -> None:
    w, host, mon = wired()
    w.run_until(90.0, at={30.2: mon.power_cycle})
    assert len(w.of(LinkDown)) == 1 and len(w.of(LinkUp)) == 2 and mon.transmitting
    displ = [r for r in mon.requests if r[0] == dri.DRI_PH_DISPL]
    assert len(displ) == 2 and host.requests_sent >= 2


def test_record_header_fields() -> None:
    rec = FakeDatex()._aux_record(3.0)
    r_len, _, level, _, r_time = struct.unpack_from("<hBBHI", rec)
    assert r_len == len(rec) == 40 + dri.AUX_LEN and level == 9 and r_time == EPOCH + 3
    parsed = dri.parse_record(rec)
    assert parsed is not None and dri.find_aux(parsed) == 0  # no NIBP yet: time unknown


def test_fake_monitor_obeys_ges_documented_request() -> None:
    mon = FakeDatex()
    mon.feed(GE_DISPLAYED_10S, 0.0)
    assert mon.requests == [(dri.DRI_PH_DISPL, 10, 0x0E)] and mon.transmitting
    frames = FrameDecoder().feed(mon.poll(0.0) + mon.poll(9.9) + mon.poll(10.0))
    assert len(frames) == 2 and all(len(f) == 874 for f in frames)  # r_len of the capture
    stop = GE_DISPLAYED_10S[:42] + bytes(8) + b"\x31\x7e"  # GE's stop example (S5CI p.A-2)
    assert stop.endswith(bytes.fromhex("00 01 00 00 00 00 00 00 00 00 31 7e"))
    mon.feed(stop, 11.0)
    assert not mon.transmitting


def _alarms_of(w: BackToBack, until: float) -> list[Episode]:
    """The session's events as the driver would send them, through the alarm engine."""
    engine = AlarmEngine(PRESETS["iv-ketamine"], wall0=0.0)
    events: list[AlarmEvent] = []
    engine.add_listener(events.append)
    for t, e in w.events:
        for msg in to_messages(e, "s5", t, t):
            engine(msg)
    engine.end_session(until)
    return episodes_from_events(events)


def test_nibp_never_measured_raises_nothing_all_session() -> None:
    # A real S/5 with no cuff used shows NIBP "data invalid" in every record.
    w, _, mon = wired(FakeDatexConfig(nibp_first_s=1e9))
    w.run_until(600.0)
    assert all(s.nibp == (dri.DATA_INVALID,) * 3 for s in mon.sent) and len(mon.sent) == 120
    assert not [c for _, c in w.of(ConditionChange) if c.vital == "sbp"]
    assert _alarms_of(w, 600.0) == []


def test_nibp_invalid_after_a_reading_is_a_condition() -> None:
    # Once a reading was shown, "data invalid" means that cycle gave none: a condition.
    cfg = FakeDatexConfig(nibp_first_s=1e9, codes=((0, 20, "sbp", dri.DATA_INVALID),
                                                   (40, 50, "sbp", dri.DATA_INVALID)))
    w, _, mon = wired(cfg)
    w.run_until(30.0)  # never measured: nothing
    mon.cfg.nibp_first_s = 25.0  # then a reading (the cuff's first) is shown from 25 s on
    w.run_until(60.0)
    ch = [(t, c.condition, c.active) for t, c in w.of(ConditionChange) if c.vital == "sbp"]
    assert [(c, a) for _, c, a in ch] == [(Condition.MEASUREMENT_INVALID, True),
                                         (Condition.MEASUREMENT_INVALID, False)]
    assert 40 <= ch[0][0] < 45 and 50 <= ch[1][0] < 55


def test_asystole_hr_zero_is_vouched_in_alarm_and_high() -> None:
    w, _, _ = wired(FakeDatexConfig(asystole=((20.0, 40.0),)))
    w.run_until(60.0)
    zero = [(t, e) for t, e in w.of(MonitorReading) if dict(e.values).get("hr") == 0]
    assert [e.in_alarm for _, e in zero] == [("hr",)] * 4  # records at 20, 25, 30, 35 s
    assert all(e.in_alarm == () for _, e in w.of(MonitorReading) if dict(e.values).get("hr") != 0)
    eps = _alarms_of(w, 60.0)
    # one HR-low alarm (keyed by its least severe tier), HIGH at once: the extreme-low tier
    assert [(e.rule_id, e.kind, e.signal_t_s) for e in eps if e.priority is Priority.HIGH] \
        == [("hr-low", AlarmKind.PHYSIOLOGICAL, zero[0][0])]
    assert not [e for e in eps if e.kind is AlarmKind.TECHNICAL]
