"""Arbitrary bytes into every decoder, parser, session and fake: the contract holds.

No exception escapes; a deframer yields only frames whose bytes were in the input; a
session yields only its four event kinds, each well formed (known vitals, finite times,
a reason for a lost link), and invents no number: every value of a MonitorReading is one the
input bytes encode (an IntelliVue FLOAT-Type, kPa converted to mmHg; a Datex 16-bit field
and its scale). The fakes answer with bytes.

Budget: 12 properties, 7,200 examples in all.
"""

from __future__ import annotations

import math
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.conditions import ConditionChange
from devices.multiparam.datex import framing as dx_framing
from devices.multiparam.datex import records as dri
from devices.multiparam.datex.session import DatexSession
from devices.multiparam.events import LinkDown, LinkUp, MonitorReading
from devices.multiparam.fakes import intellivue as fake_iv
from devices.multiparam.fakes.datex import FakeDatex
from devices.multiparam.fakes.intellivue import FakeIntelliVue, association_result
from devices.multiparam.intellivue import framing as iv_framing
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.numerics import KPA_TO_MMHG
from devices.multiparam.intellivue.session import IntelliVueSession
from monitor.messages import Condition

FAST = settings(max_examples=600, deadline=None)
SPECIAL = bytes((0xC0, 0xC1, 0x7D, 0x7E, 0xE1, 0x11, 0x01, 0x00, 0xFF, 0x80))


def _sprinkle(args: tuple[bytes, bytes]) -> bytes:
    """Inserts a special byte for each (position, selector) byte pair of `args[1]`."""
    data, marks = bytearray(args[0]), args[1]
    for i in range(0, len(marks) - 1, 2):
        data.insert(marks[i] * len(data) // 256, SPECIAL[marks[i + 1] % len(SPECIAL)])
    return bytes(data)


# random bytes with the protocols' flag, escape and header values sprinkled in, so frames,
# escapes and headers do occur (hypothesis draws st.binary far faster than lists of ints)
NOISY = st.tuples(st.binary(max_size=300), st.binary(max_size=24)).map(_sprinkle)
CHUNKS = st.lists(NOISY, max_size=5)
EVENT_TYPES = (LinkUp, LinkDown, MonitorReading, ConditionChange)
VITALS_OUT = {"hr", "pr", "spo2", "sbp", "dbp", "map"}  # what the monitors' drivers measure


def iv_numbers(frames: list[bytes]) -> set[float]:
    """Every number the IntelliVue frames encode: each 4-byte big-endian FLOAT-Type window,
    as is and as kPa converted to mmHg."""
    out: set[float] = set()
    for f in frames:
        for i in range(len(f) - 3):
            x = pdu.decode_float(int.from_bytes(f[i:i + 4], "big"))
            if math.isfinite(x):
                out.update((x, round(x * KPA_TO_MMHG, 1)))
    return out


def dx_numbers(records: list[bytes]) -> set[float]:
    """Every number the Datex records encode: each 16-bit little-endian field, as is and in
    hundredths (SpO2 and the NIBP fields)."""
    out: set[float] = set()
    for r in records:
        for i in range(len(r) - 1):
            raw = int.from_bytes(r[i:i + 2], "little", signed=True)
            out.update((float(raw), round(raw * 0.01, 2), raw / 100))
    return out


def check_events(events: list[object], numbers: set[float]) -> None:
    """The session contract for any input: known events, well formed, no invented value."""
    for e in events:
        assert isinstance(e, EVENT_TYPES), e
        if isinstance(e, MonitorReading):
            keys = [k for k, _ in e.values]
            assert keys and len(set(keys)) == len(keys) and set(keys) <= VITALS_OUT, e
            assert math.isfinite(e.age_s) and e.age_s >= 0, e
            for key, value in e.values:
                assert math.isfinite(value) and value in numbers, (key, value)
        elif isinstance(e, ConditionChange):
            assert isinstance(e.condition, Condition) and isinstance(e.active, bool), e
            assert e.vital is None or e.vital in VITALS_OUT, e
        elif isinstance(e, LinkDown):
            assert e.reason, e


def unescaped(data: bytes, flags: bytes, unescape: object) -> list[bytes]:
    """The input between flag bytes with each `7D x` escape undone: where a deframed
    frame's bytes must be found."""
    out = []
    for seg in re.split(b"[" + re.escape(flags) + b"]", data):
        buf, i = bytearray(), 0
        while i < len(seg):
            if seg[i] == 0x7D and i + 1 < len(seg):
                buf.append(unescape(seg[i + 1]))  # type: ignore[operator]
                i += 2
            else:
                buf.append(seg[i])
                i += 1
        out.append(bytes(buf))
    return out


def deframed(decoder: object, chunks: list[bytes]) -> list[bytes]:
    return [f for c in chunks for f in decoder.feed(c)]  # type: ignore[attr-defined]


@FAST
@given(CHUNKS)
def test_intellivue_deframer_takes_anything(chunks: list[bytes]) -> None:
    segments = unescaped(b"".join(chunks), b"\xc0\xc1", lambda x: x ^ 0x20)
    for user in deframed(iv_framing.FrameDecoder(), chunks):
        assert any(user in seg for seg in segments), user  # the frame's bytes were sent


@FAST
@given(st.binary(max_size=600))
def test_intellivue_frames_round_trip(user: bytes) -> None:
    frame = iv_framing.encode_frame(user)
    assert frame.count(0xC0) == 1 and frame.count(0xC1) == 1
    assert iv_framing.FrameDecoder().feed(b"\xc1\x7d" + frame) == [user]


@FAST
@given(NOISY, st.sampled_from([b"", pdu.SPPDU, pdu.SPPDU + b"\x00\x02", pdu.SPPDU + b"\x00\x05",
                               pdu.SPPDU + b"\x00\x01", b"\x0e", b"\x0e\x10\xbe\x80\x28\x80\x81"]))
def test_intellivue_message_parser_takes_anything(body: bytes, prefix: bytes) -> None:
    msg = pdu.decode(prefix + body)
    assert msg is None or isinstance(msg, pdu.Pdu)


@FAST
@given(st.lists(st.tuples(st.booleans(), NOISY), max_size=6))
def test_intellivue_session_takes_anything(chunks: list[tuple[bool, bytes]]) -> None:
    s = IntelliVueSession()
    s.start(0.0)
    s.poll(0.0)
    payloads = [iv_framing.encode_frame(association_result(0.5))]
    s.feed(payloads[0], 0.1)
    for i, (framed, data) in enumerate(chunks):
        payload = iv_framing.encode_frame(pdu.SPPDU + data) if framed else data
        payloads.append(payload)
        events = s.feed(payload, 0.2 + i)
        check_events(events, iv_numbers(deframed(iv_framing.FrameDecoder(), payloads)))
        assert isinstance(s.poll(0.2 + i), bytes)


@FAST
@given(CHUNKS)
def test_fake_intellivue_takes_anything(chunks: list[bytes]) -> None:
    m = FakeIntelliVue()
    for i, c in enumerate(chunks):
        m.feed(iv_framing.encode_frame(c) if i % 2 else c, float(i))
        assert isinstance(m.poll(float(i)), bytes)


@FAST
@given(CHUNKS)
def test_datex_deframer_takes_anything(chunks: list[bytes]) -> None:
    segments = unescaped(b"".join(chunks), b"\x7e", lambda x: x | 0x20)
    for rec in deframed(dx_framing.FrameDecoder(), chunks):
        assert any(rec in seg for seg in segments), rec  # the record's bytes were sent


@FAST
@given(st.binary(min_size=1, max_size=600))
def test_datex_frames_round_trip(rec: bytes) -> None:
    assert dx_framing.FrameDecoder().feed(b"\x7d" + dx_framing.encode_frame(rec)) == [rec]


@FAST
@given(NOISY, st.integers(0, 8), st.sampled_from([0, 1, 4, 5]))
def test_datex_record_parser_takes_anything(body: bytes, n_sub: int, maintype: int) -> None:
    descs = b"".join(bytes((i * 13 & 0xFF, 0, 1 + (i % 4))) for i in range(n_sub))
    head = (len(body) + 40).to_bytes(2, "little", signed=True) + bytes(12) \
        + maintype.to_bytes(2, "little") + (descs + b"\x00\x00\xff").ljust(24, b"\x00")[:24]
    for rec in (head + body, body):
        parsed = dri.parse_record(rec)
        if parsed is not None:
            dri.find_basic(parsed)
            dri.find_aux(parsed)


@FAST
@given(st.lists(st.tuples(st.booleans(), NOISY), max_size=6))
def test_datex_session_takes_anything(chunks: list[tuple[bool, bytes]]) -> None:
    s = DatexSession()
    s.start(0.0)
    payloads: list[bytes] = []
    for i, (framed, data) in enumerate(chunks):
        payload = dx_framing.encode_frame(data) if framed else data
        payloads.append(payload)
        events = s.feed(payload, float(i))
        check_events(events, dx_numbers(deframed(dx_framing.FrameDecoder(), payloads)))
        assert isinstance(s.poll(float(i)), bytes)


@FAST
@given(CHUNKS)
def test_fake_datex_takes_anything(chunks: list[bytes]) -> None:
    m = FakeDatex()
    for i, c in enumerate(chunks):
        m.feed(dx_framing.encode_frame(c) if i % 2 else c, float(i))
        assert isinstance(m.poll(float(i)), bytes)


def _mutate(valid: bytes, spec: bytes) -> bytes:
    """`valid` with bytes overwritten (pairs of `spec`: position, value) and maybe cut."""
    data = bytearray(valid)
    for i in range(0, len(spec) - 1, 2):
        data[spec[i] * len(data) // 256] = spec[i + 1]
    if spec and spec[0] & 1:
        del data[spec[-1] * len(data) // 256:]
    return bytes(data)


_FAKE_IV = FakeIntelliVue()
_HR_OBJ = fake_iv.numeric_object(1, pdu.NOM_ECG_CARD_BEAT_RATE, 0, pdu.NOM_DIM_BEAT_PER_MIN, 70)
_IV_VALID = [fake_iv.poll_result(3, (1, 2, 3), [_FAKE_IV._nibp_object(500.0), _HR_OBJ],
                                 linked=(1, 1)),
             association_result(0.5), fake_iv.mds_create_report(1, 2, _FAKE_IV.abs_time(0.0))]
_DX_VALID = [FakeDatex()._phdb_record(5.0), FakeDatex()._aux_record(5.0)]


@FAST
@given(st.sampled_from(_IV_VALID), st.binary(min_size=2, max_size=16))
def test_intellivue_parser_takes_mutated_messages(valid: bytes, spec: bytes) -> None:
    msg = pdu.decode(_mutate(valid, spec))
    assert msg is None or isinstance(msg, pdu.Pdu)
    s = IntelliVueSession()
    s.start(0.0)
    s.feed(iv_framing.encode_frame(association_result(0.5)), 0.1)
    s.feed(iv_framing.encode_frame(_IV_VALID[2]), 0.2)
    mutated = _mutate(valid, spec)
    check_events(s.feed(iv_framing.encode_frame(mutated), 0.3), iv_numbers([mutated]))


@FAST
@given(st.sampled_from(_DX_VALID), st.binary(min_size=2, max_size=16))
def test_datex_parser_takes_mutated_records(valid: bytes, spec: bytes) -> None:
    rec = dri.parse_record(_mutate(valid, spec))
    if rec is not None:
        dri.find_basic(rec)
        dri.find_aux(rec)
    s = DatexSession()
    s.start(0.0)
    mutated = _mutate(valid, spec)
    check_events(s.feed(dx_framing.encode_frame(mutated), 0.3), dx_numbers([mutated]))
