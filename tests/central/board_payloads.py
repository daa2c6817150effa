"""Payloads as a room sends them (JSON per the central-station contract), for board tests."""

from __future__ import annotations

import json
from typing import Any

from monitor.central.board_model import Received
from monitor.central.payloads import parse

T0 = 1_800_000_000.0  # a fixed wall clock for the tests


def status(room: str, t: float, online: bool = True, reason: str | None = None,
           phase: str | None = "PEAK", dose_start: float | None = None,
           next_due: tuple[tuple[str, float], ...] = (), discharged: bool = False,
           patient: str | None = None) -> dict[str, Any]:
    session = None if phase is None else {
        "id": 7, "patient": patient, "preset": "esketamine-rems", "phase": phase,
        "dose_start": dose_start, "discharged": discharged,
        "next_due": [{"what": w, "due": d} for w, d in next_due]}
    return {"v": 1, "room": room, "online": online, "t": t, "reason": reason,
            "session": session, "devices": [{"name": "sim", "status": "streaming"}]}


def will(room: str, t: float) -> dict[str, Any]:
    return {"v": 1, "room": room, "online": False, "t": t, "reason": "connection lost",
            "session": None, "devices": []}


def numerics(room: str, t: float, hr: float | None = 72, spo2: float | None = 97,
             nibp: tuple[float, float, float] | None = (124, 78, 93), nibp_t: float | None = None,
             spo2_state: str = "live", spo2_t: float | None = None) -> dict[str, Any]:
    def v(vital: str, label: str, unit: str, value: float | None, vt: float | None,
          state: str = "live") -> dict[str, Any]:
        live = state == "live" and value is not None
        return {"vital": vital, "label": label, "unit": unit,
                "value": value if live else None, "t": vt,
                "state": state if value is not None or state != "live" else "invalid"}
    values = [v("hr", "HR", "bpm", hr, t if hr is not None else None),
              v("spo2", "SpO2", "%", spo2, spo2_t if spo2_t is not None else t, spo2_state)]
    nt = nibp_t if nibp_t is not None else t - 300
    for key, label, value in zip(("sbp", "dbp", "map"), ("NIBP sys", "NIBP dia", "NIBP mean"),
                                 nibp or (None, None, None), strict=True):
        values.append(v(key, label, "mmHg", value, nt if nibp else None))
    return {"v": 1, "room": room, "t": t, "values": values}


def alarm(aid: str, text: str, priority: str = "HIGH", vital: str | None = "spo2",
          kind: str = "physiological", onset: float = T0, acknowledged: bool = False,
          audio_paused: bool = False) -> dict[str, Any]:
    return {"id": aid, "vital": vital, "kind": kind, "text": text, "priority": priority,
            "onset": onset, "acknowledged": acknowledged, "audio_paused": audio_paused}


def alarms(room: str, t: float, seq: int, *items: dict[str, Any]) -> dict[str, Any]:
    return {"v": 1, "room": room, "t": t, "seq": seq, "alarms": list(items)}


def topic_of(kind: str, room: str) -> str:
    return f"vigil/{room}/{kind}"


def received(kind: str, body: dict[str, Any], at: float, retained: bool = False) -> Received:
    """What the board's client hands on: parsed by the shared payload parser."""
    topic = topic_of(kind, body["room"])
    return Received(topic, body["room"], parse(topic, json.dumps(body).encode()), at, retained)
