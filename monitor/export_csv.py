"""The vitals CSV: one row per measured numeric value, as stored.

Header `time_utc,t_s,vital,value,unit,source`; `t_s` is seconds since the session start.
A missing value has no row. Waveforms (pleth) are not numerics and are not in this file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import IO

from monitor.store import SessionStore
from monitor.timefmt import iso_utc, number, seconds
from monitor.vitals import VITALS, VitalKind

HEADER = ("time_utc", "t_s", "vital", "value", "unit", "source")


def vitals_rows(store: SessionStore, session_id: int, wall_shift_s: float = 0.0
                ) -> Iterator[tuple[str, ...]]:
    """`wall_shift_s` moves time_utc (a de-identified export shifts dates); t_s is kept."""
    for t_s, t_wall, key, value, source, _flags in store.iter_samples(session_id):
        v = VITALS.get(key)
        if v is None or v.kind is VitalKind.WAVEFORM:
            continue
        yield (iso_utc(t_wall + wall_shift_s), seconds(t_s), key, number(value), v.unit, source)


def write_vitals_csv(store: SessionStore, session_id: int, out: IO[str], *,
                     wall_shift_s: float = 0.0) -> int:
    """Writes the CSV to an open text stream; returns the number of data rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    n = 0
    for row in vitals_rows(store, session_id, wall_shift_s):
        writer.writerow(row)
        n += 1
    return n
