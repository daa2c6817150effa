"""Parser unit tests: the constructed examples of devices.md §3, every special and invalid
value, the regressions of §4, and resynchronisation after damage."""

from __future__ import annotations

import pytest

from devices.serial.contec_protocol import (
    ContecParser,
    ContecProtocol,
    decode_legacy,
    decode_v7,
)
from devices.serial.masimo_protocol import MasimoParser, parse_line
from devices.serial.nonin_protocol import NoninParser, NoninStatus
from monitor.messages import Condition
from tests.devices.serial.serial_frames import (
    contec_legacy,
    contec_v7,
    masimo_line,
    nonin2_packet,
    nonin7_packet,
    nonin8_packet,
)

# -- Masimo -------------------------------------------------------------------------------

RAD8 = (b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% "
        b"SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800")
RAD8_NO_FINGER = (b"03/19/16 13:37:12 SN=0000093112 SPO2=---% BPM=--- DESAT=-- PIDELTA=+-- "
                  b"ALARM=0000 EXC=000001")
RADICAL7 = (b"03/17/16 19:19:36 SN=---------- SPO2=098% BPM=123 PI=00.55 SPCO=--% SPMET=--.-% "
            b"SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 "
            b"EXC=0000C00 EXC1=00000000")
RADICAL5 = b"09/15/10 15:10:29 SPO2=097% BPM=064 PI=11.82% ALARM=20 EXC=800"
TREND = b"09/21/08 09:56:14 SpO2=096 PR=074 PI=02.28 EXC=C00:LowSigIQ,SET"


@pytest.mark.parametrize(("line", "spo2", "pr", "exc"), [
    (RAD8, 98, 97, 0x800),
    (RAD8_NO_FINGER, None, None, 0x1),
    (RADICAL7, 98, 123, 0xC00),
    (RADICAL5, 97, 64, 0x800),
    (TREND, 96, 74, 0xC00),
])
def test_masimo_published_lines_by_tag(line: bytes, spo2: int | None, pr: int | None,
                                       exc: int) -> None:
    frame = parse_line(line)
    assert frame is not None
    assert dict(frame.values) == {"spo2": spo2, "pr": pr}
    assert frame.exc == exc


def test_masimo_no_finger_is_a_condition_without_values() -> None:
    frame = parse_line(RAD8_NO_FINGER)
    assert frame is not None
    reading = frame.reading()
    assert reading.blocked
    assert [c for c, _ in reading.conditions] == [Condition.SENSOR_OFF]


@pytest.mark.parametrize(("exc", "conditions"), [
    (0x000800, set()),
    (0x000001, {Condition.SENSOR_OFF}),
    (0x000002, {Condition.SENSOR_FAULT}),
    (0x000004, {Condition.LOW_PERFUSION}),
    (0x000008, {Condition.SEARCHING}),
    (0x000010, {Condition.POOR_SIGNAL}),
    (0x000020, {Condition.NO_FINGER}),
    (0x000040, {Condition.POOR_SIGNAL}),
    (0x000080, {Condition.SENSOR_FAULT}),
    (0x000400, {Condition.POOR_SIGNAL}),
    (0x001000, {Condition.SENSOR_OFF}),
    (0x010000, {Condition.SENSOR_FAULT}),
    (0x020000, {Condition.SEARCHING}),
    (0x000C0C, {Condition.LOW_PERFUSION, Condition.SEARCHING, Condition.POOR_SIGNAL}),
])
def test_masimo_exception_bits(exc: int, conditions: set[Condition]) -> None:
    frame = parse_line(masimo_line(98, 70, exc=exc).rstrip())
    assert frame is not None
    assert {c for c, _ in frame.reading().conditions} == conditions


@pytest.mark.parametrize("line", [
    b"SPO2=0x8% BPM=072 EXC=000800",  # a damaged digit
    b"SPO2=098% BPM=07\x0072 EXC=000800",  # binary noise inside the line
    b"SPO2=098% BPM=072 EXC=00G800",  # damaged exception bits
    b"SPO2=098% BPM=072 EXC=000800 SPO2=091% BPM=060",  # two lines run together
    b"SPO2=1234% BPM=072",  # four digits: not the device's format
    b"hello world",  # no known tag
    b"",
])
def test_masimo_damaged_lines_are_dropped_whole(line: bytes) -> None:
    assert parse_line(line) is None


def test_masimo_dashes_in_any_width_are_no_value() -> None:
    frame = parse_line(b"SPO2=--% BPM=- EXC=000008")
    assert frame is not None
    assert dict(frame.values) == {"spo2": None, "pr": None}


def test_masimo_incremental_split_anywhere_and_double_spaced() -> None:
    stream = b"\r\n".join([RAD8, RADICAL5, RAD8_NO_FINGER]) + b"\r\n\r\n"
    expected = MasimoParser().feed(stream)
    assert len(expected) == 3
    for cut in range(len(stream)):
        p = MasimoParser()
        assert p.feed(stream[:cut]) + p.feed(stream[cut:]) == expected


def test_masimo_resynchronises_after_garbage() -> None:
    p = MasimoParser()
    frames = p.feed(b"\xff\xfe\x00 noise" + masimo_line(97, 80)[5:] + b"\x80" * 2000
                    + b"\r\n" + masimo_line(96, 81) + b"SPO2=0" + b"\n" + masimo_line(95, 82))
    assert [dict(f.values)["spo2"] for f in frames] == [96, 95]
    assert p.errors >= 3


# -- Nonin --------------------------------------------------------------------------------


def test_nonin2_constructed_frames_from_the_reference() -> None:
    # frame 1: SYNC, perfusion green, pleth 0x40, HR MSB 0; frame 2: HR LSB 0x48 -> HR 72
    packet = nonin2_packet(72, 97, pleth=0x3F)
    assert packet[:10] == bytes.fromhex("01834000C4" "018241480C")
    frames = NoninParser().feed(packet + nonin2_packet(72, 97)[:5])
    assert [(f.hr, f.spo2, f.complete) for f in frames] == [(72, 97, True)]


@pytest.mark.parametrize("hr", [0, 72, 127, 128, 200, 300, 383])
def test_nonin2_heart_rate_high_bits_are_or_ed(hr: int) -> None:
    """Regression (Format8.java): HR bytes combined with & instead of |; HR >= 128."""
    (frame,) = NoninParser().feed(nonin2_packet(hr, 95) + b"\x01\x81")
    assert frame.hr == hr


def test_nonin2_missing_values_are_none() -> None:
    (frame,) = NoninParser().feed(nonin2_packet(511, 127, status=0x80 | 0x10) + b"\x01")
    assert (frame.hr, frame.spo2) == (None, None)
    assert frame.status & NoninStatus.OUT_OF_TRACK
    reading = frame.reading()
    assert dict(reading.values) == {"pr": None, "spo2": None}
    assert reading.blocked


@pytest.mark.parametrize(("status", "flag", "condition"), [
    (0xC2, NoninStatus.SENSOR_DISCONNECT, Condition.SENSOR_OFF),
    (0xA2, NoninStatus.ARTIFACT, Condition.POOR_SIGNAL),
    (0x92, NoninStatus.OUT_OF_TRACK, Condition.SEARCHING),
    (0x8A, NoninStatus.SENSOR_ALARM, Condition.SENSOR_OFF),
    (0x86, NoninStatus.PERFUSION_YELLOW, Condition.LOW_PERFUSION),
    (0x84, NoninStatus.PERFUSION_RED, Condition.LOW_PERFUSION),
])
def test_nonin2_status_bits(status: int, flag: NoninStatus, condition: Condition) -> None:
    (frame,) = NoninParser(2).feed(nonin2_packet(72, 97, status=status))
    assert frame.status == flag
    assert [c for c, _ in frame.reading().conditions] == [condition]


def test_nonin2_low_battery_from_stat2_in_frame_8() -> None:
    (frame,) = NoninParser(2).feed(nonin2_packet(72, 97, low_battery=True))
    assert frame.status == NoninStatus.LOW_BATTERY


def test_nonin2_packet_with_a_lost_frame_gives_no_numbers() -> None:
    """A frame lost mid-packet would shift SpO2 into the HR field: no values from it."""
    good = nonin2_packet(72, 97)
    damaged = good[:5] + good[10:]  # frame 2 (HR LSB) lost entirely
    p = NoninParser(2)
    frames = p.feed(damaged + good + b"\x01")
    assert [(f.complete, f.hr, f.spo2) for f in frames] == [(False, None, None),
                                                          (True, 72, 97)]
    assert frames[0].reading().values == ()
    assert len(frames[0].pleth) == 24
    assert p.errors == 1


def test_nonin2_resynchronises_after_garbage_and_bad_checksum() -> None:
    good = nonin2_packet(80, 96)
    bad_chk = bytearray(nonin2_packet(81, 95))
    bad_chk[14] ^= 0x01  # frame 3's checksum
    p = NoninParser()
    frames = p.feed(good + b"\x01\x02\x03\xff" + bytes(bad_chk) + good + good)
    complete = [(f.hr, f.spo2) for f in frames if f.complete]
    assert complete == [(80, 96), (80, 96), (80, 96)]
    assert p.errors >= 1


def test_nonin7_sixteen_bit_pleth() -> None:
    p = NoninParser()
    (frame,) = p.feed(nonin7_packet(150, 93, pleth=0x1234))
    assert p.fmt == 7
    assert (frame.hr, frame.spo2) == (150, 93)
    assert frame.pleth[:2] == (0x1235, 0x1236)


def test_nonin8_constructed_examples() -> None:
    p = NoninParser()
    frames = p.feed(bytes.fromhex("80486100" + "81165F00" * 3))
    assert p.fmt == 8
    assert [(f.hr, f.spo2) for f in frames] == [(72, 97), (150, 95), (150, 95), (150, 95)]


def test_nonin8_flags_and_missing() -> None:
    p = NoninParser(8)
    (f,) = p.feed(nonin8_packet(511, 127, b0_flags=0x20 | 0x04, b3_flags=0x08 | 0x01))
    assert (f.hr, f.spo2) == (None, None)
    assert f.status == (NoninStatus.OUT_OF_TRACK | NoninStatus.ARTIFACT
                        | NoninStatus.SENSOR_ALARM | NoninStatus.LOW_BATTERY)
    (f,) = p.feed(nonin8_packet(72, 97, b0_flags=0x10))
    assert f.status == NoninStatus.PERFUSION_YELLOW


def test_nonin_format_detection_relocks_after_a_format_change() -> None:
    p = NoninParser()
    first = p.feed(nonin2_packet(72, 97) * 2)
    assert p.fmt == 2
    later = p.feed(bytes(range(0x02, 0x50)) + nonin8_packet(88, 94) * 6)
    assert p.fmt == 8
    assert [(f.hr, f.spo2) for f in first] == [(72, 97)] * 2
    assert [(f.hr, f.spo2) for f in later if f.complete][-1] == (88, 94)


# -- Contec -------------------------------------------------------------------------------


def test_contec_v7_constructed_examples() -> None:
    a = decode_v7(bytes.fromhex("018086B284C0E2F880"))
    assert (a.signal, a.pleth, a.pr, a.spo2, a.pi) == (6, 50, 64, 98, 1.2)
    b = decode_v7(bytes.fromhex("01E884C08287DEFFFF"))
    assert (b.pr, b.spo2, b.pi) == (135, 94, None)


@pytest.mark.parametrize("pr", [0, 64, 127, 128, 135, 200, 254])
def test_contec_v7_pulse_rate_bit7_restored(pr: int) -> None:
    """Regression (celiponcio CMS50D+ v4.6): PR masked with & 0x7F lost PR >= 128."""
    (frame,) = ContecParser().feed(contec_v7(pr=pr))
    assert frame.pr == pr


def test_contec_v7_invalid_codes_and_flags() -> None:
    (f,) = ContecParser().feed(contec_v7(pr=0xFF, spo2=0x7F, pi=0xFFFF))
    assert (f.pr, f.spo2, f.pi) == (None, None, None)
    (f,) = ContecParser().feed(contec_v7(flags2=0x80, pleth=0x40))
    assert [c for c, _ in f.conditions] == [Condition.NO_FINGER]
    (f,) = ContecParser().feed(contec_v7(searching=True, flags2=0x10))
    assert [c for c, _ in f.conditions] == [Condition.SEARCHING, Condition.SEARCHING]
    (f,) = ContecParser().feed(contec_v7(pi_invalid=True))
    assert f.pi is None


def test_contec_v7_skips_other_packet_types_and_resynchronises() -> None:
    p = ContecParser()
    feedback = bytes([0x0B, 0x80, 0x80])  # command feedback "OK"
    short = contec_v7(pr=70)[:7]  # cut short: never decoded
    frames = p.feed(contec_v7(pr=60) + feedback + short + b"\x05" + contec_v7(pr=61))
    assert [f.pr for f in frames] == [60, 61]
    assert p.protocol is ContecProtocol.V7
    assert p.other_packets == 1


def test_contec_v7_split_anywhere() -> None:
    stream = contec_v7(pr=130) + contec_v7(pr=70) + contec_v7(pr=71)
    for cut in range(len(stream)):
        p = ContecParser()
        assert [f.pr for f in p.feed(stream[:cut]) + p.feed(stream[cut:])] == [130, 70, 71]


def test_contec_legacy_constructed_example() -> None:
    f = decode_legacy(bytes.fromhex("8432034862"))
    assert (f.signal, f.pleth, f.pr, f.spo2) == (4, 50, 72, 98)


@pytest.mark.parametrize("pr", [72, 128, 200, 254])
def test_contec_legacy_pulse_rate_bit7_from_byte2(pr: int) -> None:
    frames = ContecParser().feed(contec_legacy(pr=pr) * 2)
    assert [f.pr for f in frames] == [pr, pr]


def test_contec_legacy_flags_and_invalid_codes() -> None:
    p = ContecParser(ContecProtocol.LEGACY)
    (f,) = p.feed(contec_legacy(finger_out=True))
    assert [c for c, _ in f.conditions] == [Condition.NO_FINGER]
    (f,) = p.feed(contec_legacy(probe_error=True, searching=True))
    assert [c for c, _ in f.conditions] == [Condition.SENSOR_OFF, Condition.SEARCHING]
    (f,) = p.feed(contec_legacy(pr=255, spo2=127))
    assert (f.pr, f.spo2) == (None, None)


def test_contec_generation_is_recognised_from_the_bytes() -> None:
    legacy = ContecParser()
    legacy.feed(b"\x02\x03" + contec_legacy() * 3)
    assert legacy.protocol is ContecProtocol.LEGACY
    v7 = ContecParser()
    v7.feed(b"\x90\x03" + contec_v7())
    assert v7.protocol is ContecProtocol.V7
