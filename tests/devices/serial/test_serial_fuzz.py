"""Property tests: any bytes, in any chunks, never raise and never invent a value; valid
frames with garbage between them are all recovered.

Budget: 2,500 examples per parser, each cut into 8 independent inputs (a fresh parser
each, fed in two chunks): 20,000 arbitrary inputs per parser, 60,000 for the three (the BLE
parsers share the suite's 100,000), plus a few hundred structured streams each. One
example carries eight inputs because Hypothesis's own cost per example (~0.5 ms) would
otherwise dominate the suite's time budget.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.serial.contec_protocol import ContecParser, ContecProtocol
from devices.serial.masimo_protocol import MasimoParser
from devices.serial.nonin_protocol import HR_MISSING, SPO2_MISSING, NoninParser
from devices.serial.oximetry import Oximetry
from monitor.messages import Numerics
from monitor.validity import Flag, Verdict, judge
from tests.devices.serial.serial_frames import contec_legacy, contec_v7, masimo_line, nonin2_packet

INPUTS_PER_EXAMPLE = 8
RANDOM = settings(max_examples=2_500, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
STRUCTURED = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow])

blob = st.binary(max_size=INPUTS_PER_EXAMPLE * 160)


def inputs(data: bytes) -> list[list[bytes]]:
    """Eight independent inputs from one blob, each as two chunks split at its middle."""
    size = -(-len(data) // INPUTS_PER_EXAMPLE) or 1
    out = []
    for k in range(INPUTS_PER_EXAMPLE):
        one = data[k * size:(k + 1) * size]
        cut = (one[0] % (len(one) + 1)) if one else 0
        out.append([one[:cut], one[cut:]])
    return out


def _no_invented_numerics(readings: list, ox: Oximetry) -> None:
    """Whatever the parser found, what reaches the store is a number the device sent
    unmarked (a measurement, or an artefact the engine raises), never one it marked."""
    sent = {(key, value) for r in readings for key, value in r.values if value is not None}
    for k, reading in enumerate(readings):
        for msg in ox.update(reading, float(k), 1e9 + k):
            if isinstance(msg, Numerics):
                assert msg.validated == ()  # a serial oximeter never vouches for a value
                for key, value in msg.values:
                    assert (key, value) in sent
                    assert judge(key, value, Flag.UNFLAGGED) is not Verdict.DEVICE_CONDITION


@RANDOM
@given(blob)
def test_masimo_arbitrary_bytes(data: bytes) -> None:
    for parts in inputs(data):
        _masimo_input(parts)


def _masimo_input(parts: list[bytes]) -> None:
    p = MasimoParser()
    frames = [f for part in parts for f in p.feed(part)]
    data = b"".join(parts)
    for f in frames:
        for key, value in f.values:
            if value is not None:  # a number appears in the input as a tagged 3-digit field
                tag = rb"SPO2" if key == "spo2" else rb"(?:BPM|PR)"
                assert re.search(tag + rb"=%03d" % value, data, re.IGNORECASE)
    _no_invented_numerics([f.reading() for f in frames], Oximetry("m"))


@RANDOM
@given(blob)
def test_nonin_arbitrary_bytes(data: bytes) -> None:
    for parts in inputs(data):
        _nonin_input(parts)


def _nonin_input(parts: list[bytes]) -> None:
    p = NoninParser()
    frames = [f for part in parts for f in p.feed(part)]
    for f in frames:
        assert f.hr is None or 0 <= f.hr < HR_MISSING
        assert f.spo2 is None or (0 <= f.spo2 < 256 and f.spo2 != SPO2_MISSING)
        assert f.complete or (f.hr, f.spo2) == (None, None)
    _no_invented_numerics([f.reading() for f in frames], Oximetry("n"))


@RANDOM
@given(blob)
def test_contec_arbitrary_bytes(data: bytes) -> None:
    for parts in inputs(data):
        _contec_input(parts)


def _contec_input(parts: list[bytes]) -> None:
    p = ContecParser()
    frames = [f for part in parts for f in p.feed(part)]
    for f in frames:
        assert f.pr is None or 0 <= f.pr < 0xFF
        assert f.spo2 is None or 0 <= f.spo2 <= 100
        assert 0 <= f.pleth <= 127
    _no_invented_numerics([f.reading() for f in frames], Oximetry("c"))


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


noise_line = st.binary(max_size=40).map(
    lambda b: bytes(c | 0x80 for c in b) + b"\r\n")  # never printable: a line of noise
values = st.tuples(st.integers(30, 100) | st.none(), st.integers(20, 300) | st.none())


@STRUCTURED
@given(st.lists(st.tuples(values, noise_line | st.just(b"")), min_size=1, max_size=12),
       st.lists(st.integers(0, 10_000), max_size=6))
def test_masimo_lines_recovered_between_noise(items: list, cuts: list[int]) -> None:
    stream = b"".join(masimo_line(s, p) + noise for (s, p), noise in items)
    parser = MasimoParser()
    frames = [f for part in _split(stream, cuts) for f in parser.feed(part)]
    assert [dict(f.values) for f in frames] == [{"spo2": s, "pr": p} for (s, p), _ in items]


low_noise = st.binary(max_size=30).map(lambda b: bytes(2 + c % 0x7E for c in b))


@STRUCTURED
@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 100), low_noise),
                min_size=1, max_size=6),
       st.lists(st.integers(0, 100_000), max_size=6))
def test_nonin2_packets_recovered_between_garbage(items: list, cuts: list[int]) -> None:
    stream = b"".join(nonin2_packet(hr, spo2) + noise for hr, spo2, noise in items)
    parser = NoninParser(2)
    frames = [f for part in _split(stream, cuts) for f in parser.feed(part)]
    assert [(f.hr, f.spo2) for f in frames if f.complete] == [(h, s) for h, s, _ in items]


@STRUCTURED
@given(st.lists(st.tuples(st.integers(0, 254), st.integers(0, 100), st.integers(0, 127),
                          low_noise), min_size=1, max_size=20),
       st.lists(st.integers(0, 10_000), max_size=6))
def test_contec_v7_packets_recovered_between_garbage(items: list, cuts: list[int]) -> None:
    stream = b"".join(contec_v7(pr=pr, spo2=s, pleth=pl) + noise for pr, s, pl, noise in items)
    parser = ContecParser()
    frames = [f for part in _split(stream, cuts) for f in parser.feed(part)]
    assert [(f.pr, f.spo2, f.pleth) for f in frames] == [(p, s, pl) for p, s, pl, _ in items]


@STRUCTURED
@given(st.lists(st.tuples(st.integers(0, 254), st.integers(0, 100), st.integers(0, 127)),
                min_size=2, max_size=20),
       st.lists(st.integers(0, 10_000), max_size=6))
def test_contec_legacy_frames_recovered_in_any_chunks(items: list, cuts: list[int]) -> None:
    stream = b"".join(contec_legacy(pr=pr, spo2=s, pleth=pl) for pr, s, pl in items)
    parser = ContecParser()
    frames = [f for part in _split(stream, cuts) for f in parser.feed(part)]
    assert parser.protocol is ContecProtocol.LEGACY
    assert [(f.pr, f.spo2, f.pleth) for f in frames] == items
