"""The board's Qt-free model: liveness by its own clock and by the last will, values never
shown live when they are not, the worst alarm first, remote acks that count only once the
room shows them, and what the board sounds."""

from __future__ import annotations

from alarms.model import AlarmKind, Priority
from monitor.central import board_text as bt
from monitor.central.board_model import ACK_WAIT_S, HISTORY_S, BoardModel, LinkState
from tests.central.board_payloads import (
    T0,
    alarm,
    alarms,
    numerics,
    received,
    status,
    will,
)

BOTH = (Priority.HIGH, Priority.MEDIUM)


def board_with(room: str = "room-1", **status_kw) -> BoardModel:
    m = BoardModel()
    m.ingest(received("status", status(room, T0, **status_kw), T0))
    m.ingest(received("numerics", numerics(room, T0), T0))
    return m


def test_a_room_that_goes_quiet_is_offline_after_3_s_by_the_boards_clock():
    m = board_with()
    assert m.view("room-1", T0 + 3.0).online
    v = m.view("room-1", T0 + 3.1)
    assert not v.online and v.offline_reason == "no message for 3 s"
    assert v.worst is not None and v.worst.board and v.worst.priority is Priority.MEDIUM
    assert v.worst.kind is AlarmKind.TECHNICAL
    assert bt.alarm_text(v.worst) == "** ROOM OFFLINE"
    assert bt.last_message_text(v) == f"last message {bt.clock(T0)}"
    assert all(r.value is None and r.state == "offline" for r in v.readings)
    m.ingest(received("numerics", numerics("room-1", T0 + 10), T0 + 10))
    back = m.view("room-1", T0 + 10)
    assert back.online and back.worst is None
    assert [t.what for t in m.transitions("room-1")] == ["start", "end"]


def test_the_last_will_makes_a_room_offline_at_once_with_its_last_message_time():
    m = board_with()
    m.ingest(received("numerics", numerics("room-1", T0 + 1), T0 + 1))
    m.ingest(received("status", will("room-1", T0 - 500), T0 + 1.5))  # t: its connect time
    v = m.view("room-1", T0 + 1.5)
    assert not v.online and v.offline_reason == "connection lost" and not v.closed
    assert v.last_message == T0 + 1  # the room's last message, not the will's connect time
    assert m.sounding(T0 + 1.5, BOTH) is Priority.MEDIUM


def test_a_clean_stop_after_discharge_is_closed_without_alarm_but_not_during_a_session():
    m = board_with(discharged=True)
    m.ingest(received("status", status("room-1", T0 + 1, online=False, reason="closed",
                                       discharged=True), T0 + 1))
    v = m.view("room-1", T0 + 1)
    assert v.closed and v.worst is None and m.sounding(T0 + 1, BOTH) is None
    m = board_with()  # a session under way: a room that stops is still a room unwatched
    m.ingest(received("status", status("room-1", T0 + 1, online=False, reason="closed"),
                      T0 + 1))
    v = m.view("room-1", T0 + 1)
    assert not v.closed and v.worst is not None and v.worst.board


def test_retained_messages_are_no_sign_of_life():
    m = BoardModel()
    m.ingest(received("status", status("room-1", T0 - 3600), T0, retained=True))
    m.ingest(received("alarms", alarms("room-1", T0 - 3600, 4), T0, retained=True))
    v = m.view("room-1", T0)
    assert not v.online and v.last_message == T0 - 3600


def test_a_value_that_is_not_live_is_never_shown_as_a_number():
    m = BoardModel()
    m.ingest(received("numerics", numerics("room-1", T0, spo2=None, spo2_state="stale",
                                           spo2_t=T0 - 45), T0))
    v = m.view("room-1", T0)
    spo2 = v.reading("spo2")
    assert spo2 is not None and spo2.value is None and not spo2.live
    assert bt.value_text(v, "spo2") == "--"
    assert bt.age_text(spo2, v.room_now(T0)) == "stale 45 s"
    assert bt.value_text(v, "hr") == "72"
    assert bt.age_text(v.reading("hr"), v.room_now(T0)) == "now"
    assert bt.nibp_text(v) == "124/78"
    assert bt.age_text(v.reading("sbp"), v.room_now(T0)) == "5 min ago"


def test_a_live_value_older_than_its_vitals_stale_time_is_shown_stale():
    m = BoardModel()
    body = numerics("room-1", T0)
    body["values"][0]["t"] = T0 - 31  # HR marked live, measured 31 s ago (HR: 30 s)
    m.ingest(received("numerics", body, T0))
    hr = m.view("room-1", T0).reading("hr")
    assert hr is not None and hr.value is None and hr.state == "stale"


def test_phase_and_due_texts():
    m = board_with(phase="PEAK", dose_start=T0 - 32 * 60 - 5,
                   next_due=(("2-h minimum", T0 + 3600), ("BP ~40 min", T0 + 6 * 60)))
    v = m.view("room-1", T0)
    assert bt.phase_text(v, T0) == "PEAK +32 min"
    assert bt.due_text(v, T0) == "next: BP ~40 min in 6 min"
    assert bt.due_text(v, T0 + 9 * 60) == "next: BP ~40 min overdue 3 min"
    assert bt.phase_text(board_with(phase=None).view("room-1", T0), T0) == "no session"


def test_worst_alarm_first_the_patients_before_a_technical_notice():
    m = board_with()
    m.ingest(received("alarms", alarms(
        "room-1", T0, 1,
        alarm("audio", "audio output unavailable", "MEDIUM", vital=None, kind="technical",
              onset=T0 - 1),
        alarm("hr-high", "HR HIGH 131", "MEDIUM", vital="hr", onset=T0 - 10),
        alarm("rr-low", "RR LOW 7", "LOW", vital="rr", onset=T0)), T0))
    v = m.view("room-1", T0)
    assert [a.id for a in v.alarms] == ["hr-high", "audio", "rr-low"]
    m.ingest(received("alarms", alarms(
        "room-1", T0 + 1, 2,
        alarm("hr-high", "HR HIGH 131", "MEDIUM", vital="hr", acknowledged=True),
        alarm("audio", "audio output unavailable", "MEDIUM", vital=None, kind="technical")),
        T0 + 1))
    assert [a.id for a in m.view("room-1", T0 + 1).alarms] == ["audio", "hr-high"]
    assert [t.what for t in m.transitions("room-1")] == ["start", "start", "start",
                                                         "acknowledged", "end"]


def test_an_older_alarm_set_never_replaces_a_newer_one():
    m = board_with()
    m.ingest(received("alarms", alarms("room-1", T0 + 2, 5, alarm("a", "SpO2 LOW 84")), T0))
    m.ingest(received("alarms", alarms("room-1", T0 + 1, 4), T0))  # a late duplicate
    assert [a.id for a in m.view("room-1", T0).alarms] == ["a"]
    # a restarted room counts seq from 1 again, later in time: it is taken
    m.ingest(received("alarms", alarms("room-1", T0 + 3, 1), T0 + 1))
    assert m.view("room-1", T0 + 1).alarms == ()


def test_a_remote_ack_counts_only_when_the_room_shows_it():
    m = board_with()
    m.ingest(received("alarms", alarms("room-1", T0, 1, alarm("a", "SpO2 LOW 84")), T0))
    m.ack_sent("room-1", "a", T0)
    assert m.view("room-1", T0).ack_note == "acknowledgement sent, waiting for the room"
    assert m.sounding(T0, BOTH) is Priority.HIGH  # not yet acknowledged: still sounds
    m.ingest(received("alarms", alarms("room-1", T0 + 1, 2,
                                       alarm("a", "SpO2 LOW 84", acknowledged=True)), T0 + 1))
    v = m.view("room-1", T0 + 1)
    assert v.ack_note == "acknowledged: SpO2 LOW 84" and v.worst.acknowledged
    assert m.sounding(T0 + 1, BOTH) is None
    # a room without --allow-remote-ack: nothing changes, and the board says so
    m.ingest(received("alarms", alarms("room-1", T0 + 2, 3, alarm("b", "HR HIGH 140")),
                      T0 + 2))
    m.ack_sent("room-1", "b", T0 + 2)
    m.ingest(received("numerics", numerics("room-1", T0 + 2 + ACK_WAIT_S), T0 + 2 + ACK_WAIT_S))
    note = m.view("room-1", T0 + 2.1 + ACK_WAIT_S).ack_note
    assert note.startswith("acknowledgement not applied")


def test_what_the_board_sounds():
    m = board_with()
    m.ingest(received("alarms", alarms("room-1", T0, 1, alarm(
        "hr", "HR HIGH 131", "MEDIUM", vital="hr")), T0))
    assert m.sounding(T0, BOTH) is Priority.MEDIUM
    assert m.sounding(T0, (Priority.HIGH,)) is None
    assert m.sounding(T0, ()) is None
    m.ingest(received("alarms", alarms("room-1", T0, 2, alarm(
        "hr", "HR HIGH 131", "MEDIUM", vital="hr", audio_paused=True)), T0))
    assert m.sounding(T0, BOTH) is None  # paused at the bedside: someone is there
    v = m.view("room-1", T0 + 5)  # offline: the board's own MEDIUM alarm sounds
    assert not v.online and m.sounding(T0 + 5, BOTH) is Priority.MEDIUM
    m.acknowledge_offline("room-1")
    assert m.sounding(T0 + 5, BOTH) is None
    offline = [a for a in m.view("room-1", T0 + 5).alarms if a.board]
    assert len(offline) == 1 and offline[0].acknowledged  # still shown, marked
    m.ingest(LinkState(False, "broker link down: refused", T0 + 6))
    assert m.sounding(T0 + 6, BOTH) is Priority.MEDIUM


def test_history_keeps_30_minutes():
    m = BoardModel()
    for k in range(0, int(HISTORY_S) + 600, 60):
        m.ingest(received("numerics", numerics("room-1", T0 + k, hr=60 + k % 7), T0 + k))
    hist = m.history("room-1")
    assert hist[-1][0] - hist[0][0] <= HISTORY_S
    assert hist[0][0] >= T0 + 600 - 60
    assert dict(hist[-1][1])["hr"] == 60 + (int(HISTORY_S) + 540) % 7


def test_a_room_whose_clock_is_off_still_shows_live_values_and_true_times():
    m = BoardModel()
    skew = -600.0  # the room's clock is 10 min behind the board's
    m.ingest(received("status", status("room-1", T0 + skew, dose_start=T0 + skew - 32 * 60,
                                       next_due=(("BP ~40 min", T0 + skew + 8 * 60),)), T0))
    m.ingest(received("numerics", numerics("room-1", T0 + skew, spo2=None, spo2_state="stale",
                                           spo2_t=T0 + skew - 45), T0))
    v = m.view("room-1", T0 + 1)
    hr = v.reading("hr")
    assert hr is not None and hr.live  # not "stale" for a 10-min clock difference
    assert bt.age_text(hr, v.room_now(T0 + 1)) == "now"
    assert bt.age_text(v.reading("spo2"), v.room_now(T0 + 1)) == "stale 46 s"
    assert bt.phase_text(v, T0 + 1) == "PEAK +32 min"
    assert bt.due_text(v, T0 + 1) == "next: BP ~40 min in 7 min"


def test_an_alarm_that_ends_while_its_ack_is_on_the_way_says_so():
    m = board_with()
    m.ingest(received("alarms", alarms("room-1", T0, 1, alarm("a", "SpO2 LOW 84")), T0))
    m.ack_sent("room-1", "a", T0)
    m.ingest(received("alarms", alarms("room-1", T0 + 1, 2), T0 + 1))
    assert m.view("room-1", T0 + 1).ack_note == \
        "ended before the room acknowledged it: SpO2 LOW 84"
