"""Multiparameter monitor decoders: frames/s, each against bytes.split on the flag byte.

The baseline only cuts the stream at the frame flag (no unescaping, no FCS/checksum, no
parsing), so the ratio is the price of a correct decoder relative to the cheapest possible
split. For scale: 115200 baud carries at most ~11.5 kB/s, ~40 IntelliVue frames/s.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.multiparam.datex import records as dri
from devices.multiparam.datex.framing import FrameDecoder as DatexDecoder
from devices.multiparam.datex.framing import encode_frame as datex_frame
from devices.multiparam.fakes.datex import FakeDatex
from devices.multiparam.fakes.intellivue import FakeIntelliVue, poll_result
from devices.multiparam.intellivue import pdu
from devices.multiparam.intellivue.framing import FrameDecoder as IvDecoder
from devices.multiparam.intellivue.framing import encode_frame as iv_frame
from tests.bench.conftest import best_of, report

N_FRAMES = 20_000
CHUNK = 4096


def _chunks(stream: bytes) -> list[bytes]:
    return [stream[i:i + CHUNK] for i in range(0, len(stream), CHUNK)]


def _intellivue_stream() -> bytes:
    mon = FakeIntelliVue()
    frames = []
    for i in range(N_FRAMES):
        objs = mon._objects(i * 1.024)
        frames.append(iv_frame(poll_result(1, (1, i & 0xFFFF, i * 8192), objs)))
    return b"".join(frames)


def _datex_stream() -> bytes:
    mon = FakeDatex()
    return b"".join(datex_frame(mon._phdb_record(5.0 * i)) for i in range(N_FRAMES))


def _bench(name: str, stream: bytes, flag: bytes, deframe: Callable[[], IvDecoder | DatexDecoder],
           decode: Callable[[bytes], object]) -> None:
    chunks = _chunks(stream)

    def baseline() -> None:
        n = len(stream.split(flag))
        assert n > N_FRAMES

    def frames_only() -> None:
        dec = deframe()
        n = sum(len(dec.feed(c)) for c in chunks)
        assert n == N_FRAMES, n

    def full() -> None:
        dec = deframe()
        n = 0
        for c in chunks:
            for f in dec.feed(c):
                n += decode(f) is not None
        assert n == N_FRAMES, n

    t_base, t_frames, t_full = best_of(baseline), best_of(frames_only), best_of(full)
    mb = len(stream) / 1e6
    report(f"{name}_stream", mb, "MB")
    report(f"{name}_baseline_split", N_FRAMES / t_base, "frames/s")
    report(f"{name}_deframe_check", N_FRAMES / t_frames, "frames/s")
    report(f"{name}_deframe_parse", N_FRAMES / t_full, "frames/s")
    report(f"{name}_deframe_check_vs_split", t_base / t_frames, "ratio")
    report(f"{name}_deframe_parse_vs_split", t_base / t_full, "ratio")


def test_bench_intellivue_decoder() -> None:
    stream = _intellivue_stream()
    _bench("intellivue", stream, b"\xc1", IvDecoder, pdu.decode)


def test_bench_datex_decoder() -> None:
    def parse(rec: bytes) -> dri.Basic | None:
        r = dri.parse_record(rec)
        return dri.find_basic(r) if r is not None else None

    _bench("datex", _datex_stream(), b"\x7e", DatexDecoder, parse)
