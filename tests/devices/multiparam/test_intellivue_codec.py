"""IntelliVue framing and messages against the byte examples in the PIPG and real captures.

The hex strings here are copied from shared/reference/multiparam.md §A (PIPG pages and
captures as cited there): they are the documents' bytes, not results of this code.
"""

from __future__ import annotations

import math
import struct

import pytest

from devices.multiparam.fakes import intellivue as fake
from devices.multiparam.intellivue import numerics as nu
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.framing import (
    GOOD_FCS_RESIDUE,
    FrameDecoder,
    crc16_x25_raw,
    encode_frame,
    fcs16,
    wrap,
)
from monitor.messages import Condition


def h(s: str) -> bytes:
    return bytes.fromhex(s.replace("…", ""))


def crc_loop(data: bytes) -> int:
    """The textbook bitwise CRC-16/X-25 (RFC 1662), to check the table trick against."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


# ---- FCS and transparency (PIPG p.31) ----
def test_fcs_test_vectors_from_the_guide() -> None:
    assert wrap(h("3A 71")) == h("C0 3A 71 9B 26 C1")
    assert wrap(h("3A 91")) == h("C0 3A 91 95 7D E1 C1")  # the FCS byte C1 is escaped


@pytest.mark.parametrize("data", [b"", b"\x00", b"123456789", bytes(range(256)) * 3])
def test_fcs_matches_the_bitwise_crc(data: bytes) -> None:
    assert fcs16(data) == crc_loop(data)
    fcs = fcs16(data)
    assert crc16_x25_raw(data + bytes((fcs & 0xFF, fcs >> 8))) == GOOD_FCS_RESIDUE


def test_extended_poll_request_is_the_documented_frame() -> None:
    user = pdu.ext_poll_request(invoke_id=1, poll_number=1, period_s=30.0)
    assert user == h("E1 00 00 02 00 01 00 28 00 01 00 07 00 22 00 21 00 00 00 00 00 00 00 00"
                     "F1 3B 00 14 00 01 00 01 00 06 00 00 00 01 00 08 F1 3E 00 04 00 03 A9 80")
    frame = encode_frame(user)
    assert len(frame) == 56
    assert frame.startswith(h("C0 11 01 00 30")) and frame.endswith(h("00 03 A9 80 58 71 C1"))


def test_mds_create_result_is_the_guides_example() -> None:
    out = pdu.mds_create_result(1, h("00 21 00 00 00 00"), 0x00484700)
    assert out == h("E1 00 00 02 00 02 00 14 00 01 00 01 00 0E 00 21 00 00 00 00 00 48 47 00"
                    "0D 06 00 00")


def test_mds_create_result_mirrors_any_invoke_id() -> None:
    out = pdu.mds_create_result(0xBEEF, h("00 21 00 00 00 07"), 7)
    assert out[8:10] == h("BE EF") and out[14:20] == h("00 21 00 00 00 07")


AARQ_DOC = """
0D EC 05 08 13 01 00 16 01 02 80 00 14 02 00 02 C1 DC 31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00
00 01 A4 80 30 80 02 01 01 06 04 52 01 00 01 30 80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0C
2A 86 48 CE 14 02 01 00 00 00 01 01 30 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00
00 00 61 80 30 80 02 01 01 A0 80 60 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 BE
80 28 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 01 01 02 01 02 81 48 80 00 00 00 40 00 00 00 00 00
00 00 80 00 00 00 20 00 00 00 00 00 00 00 00 01 00 2C 00 01 00 28 80 00 00 00 00 00 03 E8 00 00
09 C4 00 00 03 E8 FF FF FF FF 60 00 00 00 00 01 00 0C F0 01 00 08 8C 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00
"""


def test_association_request_is_the_documented_238_bytes() -> None:
    assert h(AARQ_DOC) == pdu.AARQ
    assert len(pdu.AARQ) == 238 and pdu.AARQ[1] == 236
    i = pdu.AARQ.index(h("81 48")) + 2  # user data: ASN length 72
    profile = pdu.AARQ[i + 32:i + 72]  # PollProfileSupport, after 32 bytes of headers
    assert struct.unpack(">I", profile[4:8])[0] == 1000  # min_poll_period 125 ms
    assert profile[32:36] == h("8C 00 00 00")  # ext options: 1 s numerics, RTSA, enum


def test_release_abort_refuse_are_the_guides_bytes() -> None:
    assert h("09 18 C1 16 61 80 30 80 02 01 01 A0 80 62 80 80 01 00 00 00 00 00 00"
                         "00 00 00") == pdu.RLRQ
    assert h("19 2E 11 01 03 C1 29 A0 80 A0 80 30 80 02 01 01 06 02 51 01 00 00 00"
                         "00 61 80 30 80 02 01 01 A0 80 64 80 80 01 01 00 00 00 00 00 00 00 00"
                         "00 00") == pdu.ABRT
    assert h("0C 03 32 01 00") == pdu.REFUSE
    assert fake.RELEASE_RESPONSE.startswith(h("0A 18 C1 16"))
    assert h("63 80 80 01 00") in fake.RELEASE_RESPONSE


def test_keep_alive_follows_the_documented_template() -> None:
    out = pdu.keep_alive(0x0102, 0x0304)
    assert out == h("E1 00 00 02 00 01 00 1C 01 02 00 07 00 16 00 21 00 00 00 00 00 00 00 00"
                    "0C 16 00 08 03 04 00 01 00 36 08 11")


# ---- FLOAT-Type (PIPG p.40-41) and real values ----
@pytest.mark.parametrize(("raw", "value"), [(0xFD007D00, 32.0), (0xFF000140, 32.0),
                                            (0xFF0003E8, 100.0), (0x00000050, 80.0),
                                            (0xFF800001, -838860.7)])
def test_float_type(raw: int, value: float) -> None:
    assert pdu.decode_float(raw) == pytest.approx(value)


@pytest.mark.parametrize("mant", [0x7FFFFF, 0x800000, 0x7FFFFE, 0x800002])
def test_float_specials_are_nan_never_a_number(mant: int) -> None:
    assert math.isnan(pdu.decode_float(0xFF000000 | mant))


# ---- poll results built around real AVAs ----
HR_AVA = h("09 50 00 0A 41 82 00 00 0A A0 00 00 00 50")  # PERSEUS 1A: HR 80
SPO2_AVA = h("09 50 00 0A 4B B8 00 00 02 20 FF 00 03 E8")  # PERSEUS 1A: SpO2 100.0
NBP_ELEM = h("20 00 0F 20 00 7F FF FF")  # state UNAVAILABLE, mmHg, NaN
NBP_AVA = h("09 4B 00 22 00 03 00 1E") + b"".join(h(p) + NBP_ELEM for p in ("4A05", "4A06",
                                                                             "4A07"))


def _object(handle: int, *avas: bytes) -> bytes:
    body = b"".join(avas)
    return struct.pack(">HHH", handle, len(avas), len(body)) + body


def test_real_avas_decode_to_their_values() -> None:
    user = fake.poll_result(2, (0, 0, 0x00C82C00), [_object(1, HR_AVA), _object(2, SPO2_AVA),
                                                    _object(3, NBP_AVA)])
    msg = pdu.decode(user)
    assert isinstance(msg, pdu.PollResult)
    assert msg.rel_time == 0x00C82C00 and msg.sequence_no == 0 and msg.linked_state == 0
    hr, spo2, nbp = msg.objects
    assert hr.values == (pdu.NuValue(0x4182, 0, 0x0AA0, 80.0),)
    assert spo2.values == (pdu.NuValue(0x4BB8, 0, 0x0220, 100.0),)
    assert nbp.compound and [v.physio_id for v in nbp.values] == [0x4A05, 0x4A06, 0x4A07]
    assert all(v.state == pdu.MS_UNAVAILABLE and math.isnan(v.value) for v in nbp.values)


def test_poll_result_header_has_the_real_frames_layout() -> None:
    """The PERSEUS first numeric frame: RORS, invoke 2, F13B, seq 0, rel 0x00C82C00, FF x 8."""
    real = h("E1 00 00 02 00 02 01 22 00 02 00 07 01 1C 00 21 00 00 00 00 F1 3B 01 12 00 00 00"
             "00 00 C8 2C 00 FF FF FF FF FF FF FF FF 00 01 00 06 08 03 00 02 00 F8")
    ours = fake.poll_result(2, (0, 0, 0x00C82C00), [_object(1, HR_AVA)])
    skip = {6, 7, 12, 13, 22, 23, 44, 45, 46, 47, 48, 49}  # lengths, attr group, counts
    assert len(real) == 50
    assert all(ours[i] == real[i] for i in range(50) if i not in skip)
    assert len(ours) - 4 - 4 == struct.unpack(">H", ours[6:8])[0]


def test_mds_create_report_is_parsed_and_answered() -> None:
    from datetime import datetime
    when = datetime(2015, 9, 7, 12, 57, 1)
    msg = pdu.decode(fake.mds_create_report(0x0001, 0x1234, when))
    assert msg == pdu.MdsCreateReport(1, h("00 21 00 00 00 00"), 0x1234, when, 0x1234)


def test_association_result_reads_the_granted_poll_period() -> None:
    msg = pdu.decode(fake.association_result(0.5))
    assert msg == pdu.AssociationResult(0.5, 0x8C000000)


@pytest.mark.parametrize(("first", "kind"), [(0x19, pdu.AB_SPDU), (0x0C, pdu.RF_SPDU),
                                             (0x0A, pdu.DN_SPDU)])
def test_session_control_by_first_byte(first: int, kind: int) -> None:
    assert pdu.decode(bytes((first, 0x03, 0x32, 0x01, 0x00))) == pdu.SessionControl(kind)


# ---- measurement state (PIPG p.76-77) ----
@pytest.mark.parametrize(("state", "expected"), [
    (0x0000, None), (0x0002, None), (0x0001, None),  # valid; in alarm; alarms inhibited
    (0x8000, Condition.MEASUREMENT_INVALID), (0x8200, Condition.MEASUREMENT_INVALID),
    (0x2000, Condition.SEARCHING), (0x0400, Condition.DEMO_DATA), (0x8400, Condition.DEMO_DATA),
    (0x0800, Condition.DEMO_DATA), (0x4000, Condition.POOR_SIGNAL),
    (0x1000, Condition.MEASUREMENT_INVALID)])
def test_measurement_state_to_condition(state: int, expected: Condition | None) -> None:
    got = nu.state_condition(state)
    assert (got[0] if got else None) == expected
    assert nu.is_valid(state) == (expected is None)


@pytest.mark.parametrize(("state", "in_alarm"), [
    (0x0002, True),  # valid, in alarm: SpO2 86.3 and HR 0 in VF on the real MP90
    (0x0003, True), (0x0000, False), (0x0001, False),  # in alarm + inhibited; valid; inhibited
    (0x8002, False), (0x2002, False)])  # invalid or unavailable: no value, so no value's alarm
def test_in_alarm_flag_of_a_valid_numeric(state: int, in_alarm: bool) -> None:
    assert nu.in_alarm(state) is in_alarm


def test_nbp_unavailable_between_cycles_raises_nothing() -> None:
    assert nu.state_condition(pdu.MS_UNAVAILABLE, nibp=True) is None
    assert nu.state_condition(pdu.MS_INVALID, nibp=True)[0] == Condition.MEASUREMENT_INVALID


def test_nbp_in_kpa_is_converted_to_mmhg() -> None:
    v = pdu.NuValue(0x4A05, 0, pdu.NOM_DIM_KILO_PASCAL, 16.0)
    assert nu.nibp_values(v) == pytest.approx(120.0, abs=0.1)
    assert nu.nibp_values(pdu.NuValue(0x4A05, 0, 0x1234, 16.0)) is None


# ---- deframing ----
def test_frames_survive_any_split_garbage_and_aborts() -> None:
    users = [pdu.AARQ, b"\xc0\xc1\x7d" * 70, fake.poll_result(9, (1, 2, 3), [])]
    good = b"".join(encode_frame(u) for u in users)
    stream = (b"\x01\x02junk" + encode_frame(users[0]) + b"\xc0\x11\x01\x7d\xc1"  # aborted
              + encode_frame(users[1])[:-3] + encode_frame(users[1])  # truncated then whole
              + b"\xc1\xc1" + encode_frame(users[2]))
    for chunk in (1, 2, 7, 64, len(stream)):
        dec = FrameDecoder()
        got = [u for i in range(0, len(stream), chunk) for u in dec.feed(stream[i:i + chunk])]
        assert got == users
        assert dec.stats.aborted >= 2 and dec.stats.garbage > 0
    assert FrameDecoder().feed(good) == users


def test_escaped_header_bytes_are_read() -> None:
    user = bytes(0xC0)  # LEN_lo = C0 must be escaped in the header
    frame = encode_frame(user)
    assert frame[:6] == h("C0 11 01 00 7D E0")
    assert FrameDecoder().feed(frame) == [user]


def test_bad_fcs_is_dropped_and_counted() -> None:
    frame = bytearray(encode_frame(b"\xe1\x00\x00\x02"))
    frame[-2] ^= 0x01
    dec = FrameDecoder()
    assert dec.feed(bytes(frame) + encode_frame(b"ok")) == [b"ok"]
    assert dec.stats.bad_fcs == 1


def test_fake_monitor_answers_the_documented_poll_frame() -> None:
    """The 56 wire bytes of VSMP's ext_poll_request_msg5 (85 times in a host capture)."""
    doc = h("C0 11 01 00 30 E1 00 00 02 00 01 00 28 00 01 00 07 00 22 00 21 00 00 00 00 00 00"
            "00 00 F1 3B 00 14 00 01 00 01 00 06 00 00 00 01 00 08 F1 3E 00 04 00 03 A9 80 58 71"
            "C1")
    mon = fake.FakeIntelliVue()
    mon.feed(encode_frame(pdu.AARQ), 0.0)
    (_, report) = FrameDecoder().feed(mon.poll(0.0))
    mon.feed(encode_frame(pdu.mds_create_result(int.from_bytes(report[8:10], "big"),
                                                report[14:20], 0)), 0.1)
    mon.feed(doc, 0.2)
    assert mon.stats.polls == 1 and mon.associated
    first = [pdu.decode(u) for u in FrameDecoder().feed(mon.poll(0.2))]
    assert [m.linked_state for m in first] == [1, 2, 3, 0]  # LRS 1/2/3 then RORS
    assert all(m.sequence_no == 0 and m.invoke_id == 1 for m in first)
    assert FrameDecoder().feed(mon.poll(30.1)) and not FrameDecoder().feed(mon.poll(30.3))
