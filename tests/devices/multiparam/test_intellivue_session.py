"""The IntelliVue host session against the fake monitor, back to back on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from devices.conditions import ConditionChange
from devices.multiparam.events import LinkDown, LinkUp, MonitorReading
from devices.multiparam.fakes.intellivue import FakeIntelliVue, FakeIntelliVueConfig
from devices.multiparam.fakes.wire import BackToBack
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.framing import FrameDecoder, encode_frame
from devices.multiparam.intellivue.session import IntelliVueSession, Phase, Timing
from monitor.messages import Condition

DT = 0.05


def wired(cfg: FakeIntelliVueConfig | None = None, timing: Timing | None = None,
          **kw: object) -> tuple[BackToBack, IntelliVueSession, FakeIntelliVue]:
    host, mon = IntelliVueSession(timing), FakeIntelliVue(cfg)
    host.start(0.0)
    return BackToBack(host, mon, DT, **kw), host, mon


def continuous(w: BackToBack) -> list[tuple[float, MonitorReading]]:
    return [(t, e) for t, e in w.of(MonitorReading) if "hr" in dict(e.values) or "spo2" in dict(
        e.values) or "pr" in dict(e.values)]


def nibp(w: BackToBack) -> list[tuple[float, MonitorReading]]:
    return [(t, e) for t, e in w.of(MonitorReading) if "sbp" in dict(e.values)]


def test_association_event_report_and_first_numerics() -> None:
    w, host, mon = wired()
    w.run_until(3.0)
    first = FrameDecoder().feed(w.host_bytes[0][1])
    assert first == [pdu.AARQ]
    assert mon.stats.associations == 1 and mon.stats.results_received == 1
    assert mon.stats.wrong_invoke_results == 0 and host.reports_answered == 1
    assert host.phase == Phase.OPERATING and host.up and host.min_poll_period_s == 0.5
    assert [type(e) for _, e in w.events[:2]] == [LinkUp, MonitorReading]


def test_numerics_are_the_monitors_values_one_reading_per_result() -> None:
    w, _, mon = wired()
    w.run_until(60.0)
    got = continuous(w)
    sent = {}
    for s in mon.sent_numerics:
        sent.setdefault(s.t_s, {})[s.vital] = s.value
    assert len(got) == len(sent) == mon.stats.results_sent
    for (_, reading), (_, truth) in zip(got, sorted(sent.items()), strict=True):
        assert dict(reading.values) == truth
    assert len({dict(r.values)["hr"] for _, r in got}) > 3  # the values change


def test_polls_are_renewed_before_they_expire_and_results_never_stop() -> None:
    timing = Timing(poll_period_s=10.0, poll_renew_s=8.0)
    w, host, mon = wired(timing=timing)
    w.run_until(95.0)
    times = [t for t, _ in continuous(w)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 1.1 and times[-1] > 94.0
    assert mon.stats.polls == host.polls_sent >= 11


def test_keep_alive_stops_the_monitor_aborting() -> None:
    """Polls renewed only every 55 s: without keep-alives the monitor aborts after 10 s."""
    timing = Timing(poll_period_s=60.0, poll_renew_s=55.0)
    w, host, mon = wired(timing=timing)
    w.run_until(120.0)
    assert mon.stats.aborts_sent == 0 and mon.stats.keepalives == host.keepalives_sent > 10
    tx = [t for t, _ in w.host_bytes]
    assert max(b - a for a, b in itertools.pairwise(tx)) <= timing.keepalive_s + DT + 1e-6


def test_without_keep_alive_the_monitor_aborts_and_the_host_reassociates() -> None:
    timing = Timing(poll_period_s=60.0, poll_renew_s=55.0, keepalive_s=1e9, silence_s=1e9)
    w, _, mon = wired(timing=timing)
    w.run_until(30.0)
    downs = w.of(LinkDown)
    assert mon.stats.aborts_sent >= 1
    assert downs and downs[0][1].reason == "the monitor aborted the association"
    last_tx = max(t for t, _ in w.host_bytes if t < downs[0][0])
    assert 10.0 <= downs[0][0] - last_tx <= 10.0 + 2 * DT  # 10 s after the last host message
    assert mon.stats.associations >= 2 and len(w.of(LinkUp)) >= 2


def test_monitor_abort_then_reassociation_and_data_again() -> None:
    w, host, mon = wired()
    w.run_until(50.0, at={20.0: mon.abort})
    (t_down, down), = w.of(LinkDown)
    assert down.reason == "the monitor aborted the association" and t_down == pytest.approx(20.0)
    ups = [t for t, _ in w.of(LinkUp)]
    assert len(ups) == 2 and ups[1] - t_down < 0.5
    assert mon.stats.associations == 2 and host.up
    assert any(t > ups[1] for t, _ in continuous(w))


def test_silence_is_a_disconnect_5_s_after_the_last_byte_then_reconnect() -> None:
    w, host, mon = wired()

    def mute(_: float) -> None:
        mon.muted = True

    def unmute(_: float) -> None:
        mon.muted = False

    w.run_until(90.0, at={30.0: mute, 70.0: unmute})
    last = max(t for t, _ in continuous(w) if t < 30.0)
    (t_down, down), = w.of(LinkDown)
    assert down.reason == "no data from the monitor for 5 s"
    assert 5.0 <= t_down - last <= 5.0 + DT + 1e-9
    ups = [t for t, _ in w.of(LinkUp)]
    assert len(ups) == 2 and 70.0 <= ups[1] <= 70.0 + host.timing.assoc_retry_s + DT
    assert any(t > ups[1] for t, _ in continuous(w))


def test_short_silence_meets_a_stale_association_refuse_abort_and_retry() -> None:
    """Muted ~6 s: the monitor still holds the old association, refuses, the host aborts it."""
    w, host, mon = wired()
    # keep-alives go out at 4.05 + 4k s: the monitor hears the one at 20.05, then nothing
    w.run_until(40.0, at={20.1: lambda _: setattr(mon, "muted", True),
                          26.0: lambda _: setattr(mon, "muted", False)})
    assert mon.stats.refused >= 1 and mon.stats.associations == 2
    assert len(w.of(LinkDown)) == 1 and len(w.of(LinkUp)) == 2 and host.up


def test_power_cycle_of_the_monitor() -> None:
    w, host, mon = wired()
    w.run_until(60.0, at={25.0: mon.power_cycle})
    (t_down, _), = w.of(LinkDown)
    assert 29.0 < t_down < 31.0
    t_up = w.of(LinkUp)[-1][0]
    assert mon.stats.associations == 2 and host.up
    assert t_up <= t_down + host.timing.assoc_retry_s + 2 * DT  # abort, then ask again


def test_nibp_is_one_reading_per_measurement_with_its_time() -> None:
    cfg = FakeIntelliVueConfig(nibp_first_s=20.0, nibp_interval_s=75.0)
    w, _, mon = wired(cfg)
    w.run_until(400.0, at={150.0: mon.abort})  # re-association must not repeat a reading
    got = nibp(w)
    truth = [m for m in map(mon.nibp_at, range(10)) if m.t_s < 399.0]
    assert len(got) == len(truth) == 6
    for (t, r), m in zip(got, truth, strict=True):
        assert dict(r.values) == {"sbp": m.sbp, "dbp": m.dbp, "map": m.map}
        assert t - r.age_s == pytest.approx(m.t_s, abs=0.05)  # BCD time: 1/100 s


def test_nibp_in_kpa() -> None:
    w, _, mon = wired(FakeIntelliVueConfig(nibp_first_s=5.0, nibp_kpa=True))
    w.run_until(10.0)
    (_, r), = nibp(w)
    m = mon.nibp_at(0)
    assert dict(r.values) == pytest.approx({"sbp": m.sbp, "dbp": m.dbp, "map": m.map}, abs=0.2)


def test_invalid_unavailable_demo_are_conditions_never_numbers() -> None:
    cfg = FakeIntelliVueConfig(nibp_first_s=1e6, states=(
        (10.0, 20.0, "spo2", pdu.MS_INVALID), (25.0, 35.0, "hr", pdu.MS_DEMO_DATA),
        (40.0, 50.0, "pr", pdu.MS_UNAVAILABLE), (40.0, 50.0, "hr", pdu.MS_QUESTIONABLE),
        (55.0, 65.0, "sbp", pdu.MS_INVALID)))
    w, _, _ = wired(cfg)
    w.run_until(70.0)
    windows = {"spo2": (10.0, 20.0, Condition.MEASUREMENT_INVALID),
               "hr": (25.0, 35.0, Condition.DEMO_DATA),
               "pr": (40.0, 50.0, Condition.SEARCHING),
               "sbp": (55.0, 65.0, Condition.MEASUREMENT_INVALID)}
    for vital, (t0, t1, cond) in windows.items():
        changes = [(t, c) for t, c in w.of(ConditionChange)
                   if c.vital == vital and c.condition == cond]
        assert [c.active for _, c in changes] == [True, False], vital
        assert t0 <= changes[0][0] <= t0 + 1.1 and t1 <= changes[1][0] <= t1 + 1.1
        numbers = [t for t, r in w.of(MonitorReading) if vital in dict(r.values)]
        assert not [t for t in numbers if t0 + 1.1 < t < t1]
        if vital != "sbp":
            assert [t for t in numbers if t1 + 1.1 < t]  # values return afterwards
    poor = [c for _, c in w.of(ConditionChange) if c.condition == Condition.POOR_SIGNAL]
    assert [c.active for c in poor] == [True, False]


def test_conditions_end_when_the_link_is_lost() -> None:
    cfg = FakeIntelliVueConfig(states=((5.0, 60.0, "spo2", pdu.MS_INVALID),))
    w, _, mon = wired(cfg)
    w.run_until(20.0, at={10.0: mon.abort})
    seq = [(type(e).__name__, getattr(e, "active", None)) for _, e in w.events
           if isinstance(e, ConditionChange | LinkDown)]
    assert seq[:3] == [("ConditionChange", True), ("ConditionChange", False), ("LinkDown", None)]


def test_garbage_on_the_line_costs_frames_not_the_session() -> None:
    def noisy(data: bytes, now: float) -> bytes:
        return (b"\x00\xc1\x7d\xffnoise" + data) if int(now * 20) % 7 == 0 else data

    w, host, _ = wired(tamper=noisy)
    w.run_until(30.0)
    assert len(continuous(w)) >= 27 and not w.of(LinkDown)
    assert host.decoder.stats.garbage > 0


def test_close_sends_release_and_the_monitor_answers() -> None:
    w, host, mon = wired()
    w.run_until(5.0)
    out = host.close(5.0)
    assert FrameDecoder().feed(out) == [pdu.RLRQ]
    mon.feed(out, 5.0)
    host.feed(mon.poll(5.05), 5.05)
    assert host.released and mon.stats.releases == 1 and not mon.associated
    assert host.poll(6.0) == b""


def test_report_invoke_id_is_echoed_not_assumed() -> None:
    from datetime import datetime

    from devices.multiparam.fakes.intellivue import association_result, mds_create_report
    host = IntelliVueSession()
    host.start(0.0)
    host.poll(0.0)
    host.feed(encode_frame(association_result(0.5)) + encode_frame(
        mds_create_report(0x4321, 8000, datetime(2021, 4, 22, 11, 47, 26))), 0.1)
    answer, poll = FrameDecoder().feed(host.poll(0.1))
    assert answer[8:10] == b"\x43\x21" and answer[4:6] == b"\x00\x02"
    assert poll[24:26] == b"\xf1\x3b"


def test_nibp_without_a_time_is_kept_only_when_seen_arriving() -> None:
    """No time attribute: the reading shown at association has an unknown age and is not
    recorded; the next one is seen arriving and is recorded at that moment."""
    cfg = FakeIntelliVueConfig(nibp_first_s=20.0, nibp_interval_s=60.0, nibp_time=False)
    host, mon = IntelliVueSession(), FakeIntelliVue(cfg)
    w = BackToBack(host, mon, DT)
    w.run_until(30.0)  # the monitor measured at 20 s, before Vigil started at 30 s
    host.start(30.0)
    w.run_until(100.0)
    (t, r), = nibp(w)
    m = mon.nibp_at(1)
    assert dict(r.values) == {"sbp": m.sbp, "dbp": m.dbp, "map": m.map}
    assert r.age_s == 0.0 and m.t_s <= t <= m.t_s + 1.1
