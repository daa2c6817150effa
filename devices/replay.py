"""`replay:FILE`: plays back a recorded vitals CSV as if a device sent it.

The file has a `time_s` column (seconds from the start of the recording) and one column
per vital key. An empty cell is no value. Unknown columns are ignored with a warning. The
whole file is read and checked before anything is recorded, so a malformed file fails
with an error naming its line, and nothing is written.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from devices.base import Driver, SpecError
from devices.spec import DeviceSpec
from monitor.clock import SessionClock
from monitor.messages import Message, Numerics
from monitor.vitals import NUMERIC_KEYS

log = logging.getLogger(__name__)


class RecordingError(ValueError):
    """A recording that cannot be replayed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Recording:
    path: Path
    rows: tuple[tuple[float, tuple[tuple[str, float], ...]], ...]  # (time_s, values)
    ignored_columns: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.rows[-1][0] if self.rows else 0.0


def read_recording(path: str | Path) -> Recording:
    path = Path(path)
    try:
        f = open(path, newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as e:
        raise RecordingError(f"{path}: cannot open: {e.strerror}") from e
    with f:
        try:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise RecordingError(f"{path}: empty file, expected a header with time_s")
            header = [h.strip() for h in header]
            if "time_s" not in header:
                raise RecordingError(f"{path}:1: no time_s column in the header {header}")
            if len(set(header)) != len(header):
                raise RecordingError(f"{path}:1: a column appears twice in the header")
            t_col = header.index("time_s")
            columns = [(i, h) for i, h in enumerate(header) if h in NUMERIC_KEYS]
            ignored = tuple(h for h in header if h != "time_s" and h not in NUMERIC_KEYS)
            rows = []
            last_t = -math.inf
            for row in reader:
                line = reader.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != len(header):
                    raise RecordingError(f"{path}:{line}: {len(row)} fields, the header has "
                                         f"{len(header)}")
                t = _number(path, line, "time_s", row[t_col])
                if t is None:
                    raise RecordingError(f"{path}:{line}: time_s is empty")
                if t < last_t:
                    raise RecordingError(f"{path}:{line}: time_s {t:g} goes back in time "
                                         f"(previous row {last_t:g})")
                if t < 0:
                    raise RecordingError(f"{path}:{line}: time_s {t:g} is negative")
                last_t = t
                values = tuple((key, v) for i, key in columns
                               if (v := _number(path, line, key, row[i])) is not None)
                rows.append((t, values))
        except UnicodeDecodeError as e:
            raise RecordingError(f"{path}: not a text CSV file ({e.reason})") from e
        except csv.Error as e:
            raise RecordingError(f"{path}:{reader.line_num}: {e}") from e
    if not rows:
        raise RecordingError(f"{path}: no data rows")
    if ignored:
        log.warning("%s: ignoring unknown columns: %s", path.name, ", ".join(ignored))
    return Recording(path, tuple(rows), ignored)


def _number(path: Path, line: int, column: str, text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise RecordingError(f"{path}:{line}: column {column}: {text!r} is not a number"
                             ) from None
    if not math.isfinite(value):
        raise RecordingError(f"{path}:{line}: column {column}: {text!r} is not a finite number")
    return value


class ReplayDriver(Driver):
    simulated = True
    finite = True
    stale_after_s = None  # a recording's gaps are the recording's, not a device fault

    def __init__(self, spec: DeviceSpec, source: str, clock: SessionClock,
                 recording: Recording | None = None) -> None:
        super().__init__(source, spec.text, clock)
        self.recording = recording or read_recording(spec.target)
        self._next = 0

    @staticmethod
    def check_spec(spec: DeviceSpec) -> None:
        try:
            read_recording(spec.target)
        except RecordingError as e:
            raise SpecError(str(e)) from e

    async def connect(self) -> None:
        return None

    async def stream(self) -> AsyncIterator[Message]:
        rows = self.recording.rows
        while self._next < len(rows):
            t, values = rows[self._next]
            await self.clock.sleep_until(t)
            self._next += 1
            if values:
                yield Numerics(self.source, self.clock.wall(t), t, values)
