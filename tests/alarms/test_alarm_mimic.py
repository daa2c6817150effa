"""Replaying the real MIMIC-II recording: the monitor's 0 placeholders become technical
conditions, never SpO2 or HR alarms; the batch engine agrees with the replayed session."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from alarms.batch import Recording, evaluate
from alarms.episodes import episodes_from_events
from alarms.model import AlarmKind
from alarms.presets import PRESETS
from devices.replay import read_recording
from devices.spec import parse_spec
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.store import SessionStore
from monitor.vitals import NUMERIC_KEYS, VITALS


def test_mimic_zero_placeholders_are_technical_only(mimic_csv: Path, db_path: Path) -> None:
    with SessionStore(db_path) as store:
        rec = SessionRecorder(store, RecordingPlan((parse_spec(f"replay:{mimic_csv}"),),
                                                   None, None, preset="iv-ketamine"))
        rec.start()
        result = rec.wait(120)
        episodes = episodes_from_events(store.alarm_events(rec.session_id))
    recording = read_recording(mimic_csv)
    for vital in ("spo2", "hr"):
        zeros = [t for t, values in recording.rows if dict(values).get(vital) == 0]
        assert zeros, f"the recording has {vital} placeholders"
        technical = [e for e in episodes if e.vital == vital and e.kind is AlarmKind.TECHNICAL]
        physiological = [e for e in episodes
                         if e.vital == vital and e.kind is AlarmKind.PHYSIOLOGICAL]
        for t in zeros:
            assert any(e.onset_t_s <= t and (e.end_t_s is None or t < e.end_t_s)
                       for e in technical), f"{vital} 0 at {t} s raised no technical alarm"
            assert not any(e.onset_t_s <= t < (e.end_t_s or math.inf) for e in physiological)
        assert all(VITALS[vital].is_plausible(e.worst_value) for e in physiological)

    # The same recording as arrays, through the batch engine: the same episodes.
    t = np.array([row[0] for row in recording.rows])
    cols = {k: np.full(len(t), np.nan) for k in NUMERIC_KEYS}
    for i, (_, values) in enumerate(recording.rows):
        for k, v in values:
            cols[k][i] = v
    batch = evaluate(Recording(t, cols, "replay"), PRESETS["iv-ketamine"],
                     until_t_s=result.end_t_s, ended=True, recorded=True)
    assert batch == episodes
