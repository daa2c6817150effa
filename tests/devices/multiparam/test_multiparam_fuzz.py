"""Arbitrary bytes into every decoder, parser, session and fake: no exception escapes.

Budget: 12 properties, 7,200 examples in all.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.multiparam.datex import framing as dx_framing
from devices.multiparam.datex import records as dri
from devices.multiparam.datex.session import DatexSession
from devices.multiparam.events import ConditionChange, LinkDown, LinkUp, Reading
from devices.multiparam.fakes import intellivue as fake_iv
from devices.multiparam.fakes.datex import FakeDatex
from devices.multiparam.fakes.intellivue import FakeIntelliVue, association_result
from devices.multiparam.intellivue import framing as iv_framing
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.session import IntelliVueSession

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
EVENT_TYPES = (LinkUp, LinkDown, Reading, ConditionChange)


@FAST
@given(CHUNKS)
def test_intellivue_deframer_takes_anything(chunks: list[bytes]) -> None:
    dec = iv_framing.FrameDecoder()
    for c in chunks:
        for user in dec.feed(c):
            assert isinstance(user, bytes)


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
    s.feed(iv_framing.encode_frame(association_result(0.5)), 0.1)
    for i, (framed, data) in enumerate(chunks):
        payload = iv_framing.encode_frame(pdu.SPPDU + data) if framed else data
        for e in s.feed(payload, 0.2 + i):
            assert isinstance(e, EVENT_TYPES)
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
    dec = dx_framing.FrameDecoder()
    for c in chunks:
        for rec in dec.feed(c):
            assert isinstance(rec, bytes)


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
    for i, (framed, data) in enumerate(chunks):
        payload = dx_framing.encode_frame(data) if framed else data
        for e in s.feed(payload, float(i)):
            assert isinstance(e, EVENT_TYPES)
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
    assert all(isinstance(e, EVENT_TYPES)
               for e in s.feed(iv_framing.encode_frame(_mutate(valid, spec)), 0.3))


@FAST
@given(st.sampled_from(_DX_VALID), st.binary(min_size=2, max_size=16))
def test_datex_parser_takes_mutated_records(valid: bytes, spec: bytes) -> None:
    rec = dri.parse_record(_mutate(valid, spec))
    if rec is not None:
        dri.find_basic(rec)
        dri.find_aux(rec)
    s = DatexSession()
    s.start(0.0)
    assert all(isinstance(e, EVENT_TYPES)
               for e in s.feed(dx_framing.encode_frame(_mutate(valid, spec)), 0.3))
