"""Feeding the streaming engine from arrays, the way the runtime would."""

from __future__ import annotations

import math

import numpy as np

from alarms.batch import Recording
from alarms.engine import AlarmEngine
from alarms.episodes import Episode, episodes_from_events
from alarms.model import AlarmEvent
from alarms.presets import Preset
from monitor.messages import Numerics, TimelineMark


def stream(rec: Recording, preset: Preset, *, dose: float | None, until: float,
           recorded: bool = False) -> tuple[list[Episode], list[AlarmEvent]]:
    """Runs the streaming engine over `rec` one message at a time (the dose mark before
    the first row at or after the dose) and ends the session at `until`."""
    engine = AlarmEngine(preset, recorded_sources={rec.source} if recorded else (),
                         wall0=0.0)
    events: list[AlarmEvent] = []
    engine.add_listener(events.append)
    cols = [(k, np.asarray(v, dtype=float)) for k, v in rec.values.items()]
    dosed = dose is None
    for i, t in enumerate(np.asarray(rec.t, dtype=float).tolist()):
        if not dosed and t >= dose:
            engine(TimelineMark(rec.source, dose, dose, "dose_start"))
            dosed = True
        values = tuple((k, float(c[i])) for k, c in cols if not math.isnan(c[i]))
        vouched = tuple(k for k, _ in values if k in rec.validated and rec.validated[k][i])
        engine(Numerics(rec.source, t, t, values, vouched))
    if not dosed and dose is not None and dose <= until:
        engine(TimelineMark(rec.source, dose, dose, "dose_start"))
    engine.end_session(until)
    return episodes_from_events(events), events
