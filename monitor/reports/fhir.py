"""The session as a FHIR R4 `Bundle` (type collection), built as plain JSON dicts.

No FHIR library at run time: the bundle is a few fixed shapes, and the tests validate it
with the `fhir.resources` R4B models (R4B leaves Patient, Encounter, Device, Observation,
MedicationAdministration and Bundle as they are in R4 4.0.1).

Contents: the Patient (or the pseudonym), the Encounter, a Device per recording source,
vital-sign Observations coded in LOINC with UCUM units (the continuous vitals once a
minute, the measured sample nearest before each minute mark; every NIBP reading as a blood
pressure panel), the body weight, a MedicationAdministration per dose (its lot number on a
contained Medication), and an Observation per sedation, dissociation and discharge score.
Resource ids are stable: exporting the same session again gives the same ids.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from typing import IO, Any

import numpy as np

from monitor.reports import fmt
from monitor.reports.data import ReportData, Series, continuous_keys
from monitor.session import Route, SessionStatus
from monitor.vitals import NIBP_KEYS, VITALS

FHIR_VERSION = "4.0.1"
CONTINUOUS_INTERVAL_S = 60.0
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Vigil's own codes for the scores: no LOINC code could be verified for MOAA/S, RASS, the
# 0-4 dissociation level, CADSS-6, the modified Aldrete score or PADSS, and none is guessed.
SCORE_SYSTEM = "urn:vigil:score"
PSEUDONYM_SYSTEM = "urn:vigil:pseudonym"
_NAMESPACE = uuidlib.UUID("6a1f6f0e-3c8e-4c39-9a51-6f1b0c9d1e27")

LOINC_DISPLAY = {
    "8867-4": "Heart rate",
    "8889-8": "Heart rate by Pulse oximetry",
    "59408-5": "Oxygen saturation in Arterial blood by Pulse oximetry",
    "2708-6": "Oxygen saturation in Arterial blood",
    "8480-6": "Systolic blood pressure",
    "8462-4": "Diastolic blood pressure",
    "8478-0": "Mean blood pressure",
    "9279-1": "Respiratory rate",
    "85354-9": "Blood pressure panel with all children optional",
    "29463-7": "Body weight",
}
# The FHIR R4 vital signs profiles (observation-vitalsigns): each vital-sign Observation has
# category vital-signs, a subject, an effective time, a UCUM quantity, and the profile's own
# LOINC code. SpO2 by pulse oximetry keeps its specific code and adds the profile's 2708-6.
PROFILE_BASE = "http://hl7.org/fhir/StructureDefinition/"
VITALSIGNS = PROFILE_BASE + "vitalsigns"
PROFILE_CODES = {"8867-4": (), "59408-5": ("2708-6",), "9279-1": (), "85354-9": (),
                 "29463-7": ()}
PROFILES = {"8867-4": "heartrate", "59408-5": "oxygensat", "9279-1": "resprate",
            "85354-9": "bp", "29463-7": "bodyweight"}
ROUTES = {  # SNOMED CT route of administration
    Route.IV: ("47625008", "Intravenous route"),
    Route.IM: ("78421000", "Intramuscular route"),
    Route.SUBLINGUAL: ("37839007", "Sublingual route"),
    Route.INTRANASAL: ("46713006", "Nasal route"),
}
SCORE_NAMES = {"moaas": "MOAA/S (Modified Observer's Assessment of Alertness/Sedation)",
               "rass": "RASS (Richmond Agitation-Sedation Scale)",
               "level": "Dissociation intensity 0-4", "cadss6": "CADSS-6",
               "aldrete": "Modified Aldrete score", "padss": "PADSS"}
ENCOUNTER_STATUS = {SessionStatus.ACTIVE: "in-progress", SessionStatus.COMPLETED: "finished",
                    SessionStatus.INTERRUPTED: "unknown"}


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def _quantity(key: str, v: float) -> dict[str, Any]:
    vit = VITALS[key]
    return {"value": _num(v), "unit": vit.unit or vit.ucum, "system": UCUM, "code": vit.ucum}


def _loinc(code: str, text: str) -> dict[str, Any]:
    codes = (code, *PROFILE_CODES.get(code, ()))
    return {"coding": [{"system": LOINC, "code": c, "display": LOINC_DISPLAY[c]} for c in codes],
            "text": text}


def _vital_meta(code: str) -> dict[str, Any]:
    """The vital signs profiles this Observation conforms to."""
    specific = PROFILES.get(code)
    return {"profile": [VITALSIGNS, *([PROFILE_BASE + specific] if specific else [])]}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": OBS_CATEGORY, "code": code, "display": display}]}]


class _Builder:
    def __init__(self, data: ReportData, clinic: str | None, clinician: str | None) -> None:
        self.data = data
        self.clinic, self.clinician = clinic, clinician
        self.base = (f"deid/{data.patient}" if data.deidentified else f"session/{data.uuid}")
        self.entries: list[dict[str, Any]] = []

    def url(self, name: str) -> str:
        return f"urn:uuid:{uuidlib.uuid5(_NAMESPACE, f'{self.base}/{name}')}"

    def add(self, name: str, resource: dict[str, Any]) -> dict[str, str]:
        url = self.url(name)
        self.entries.append({"fullUrl": url, "resource": resource})
        return {"reference": url}

    def when(self, t_s: float) -> str:
        return fmt.iso(self.data.wall(t_s))

    def build(self) -> dict[str, Any]:
        d = self.data
        patient = self._patient()
        encounter = self._encounter(patient)
        devices = self._devices()
        device = next(iter(devices.values())) if len(devices) == 1 else None
        ctx = {"subject": patient, "encounter": encounter}
        if d.weight_kg:
            self.add("weight", {
                "resourceType": "Observation", "meta": _vital_meta("29463-7"),
                "status": "final",
                "category": _category("vital-signs", "Vital Signs"),
                "code": _loinc("29463-7", "Weight"), **ctx,
                "effectiveDateTime": self.when(0.0),
                "valueQuantity": {"value": _num(d.weight_kg), "unit": "kg", "system": UCUM,
                                  "code": "kg"}})
        self._continuous(ctx, device)
        self._nibp(ctx, device)
        self._doses(ctx)
        self._scores(ctx)
        bundle: dict[str, Any] = {
            "resourceType": "Bundle", "type": "collection",
            "timestamp": fmt.iso(d.generated_wall if d.generated_wall is not None
                                 else d.wall(d.end_t_s)),
            "entry": self.entries}
        if d.deidentified:
            bundle["meta"] = {"security": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                "code": "PSEUDED", "display": "pseudonymized"}]}
        return bundle

    def _patient(self) -> dict[str, str]:
        d = self.data
        res: dict[str, Any] = {"resourceType": "Patient"}
        if d.deidentified:
            res["identifier"] = [{"system": PSEUDONYM_SYSTEM, "value": d.patient}]
        elif d.patient:
            res["identifier"] = [{"type": {"text": "Clinic patient identifier"},
                                  "value": d.patient}]
        return self.add("patient", res)

    def _encounter(self, patient: dict[str, str]) -> dict[str, str]:
        d = self.data
        period = {"start": self.when(0.0)}
        if d.status is not SessionStatus.ACTIVE:
            period["end"] = self.when(d.end_t_s)
        res: dict[str, Any] = {
            "resourceType": "Encounter", "status": ENCOUNTER_STATUS[d.status],
            "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
            "type": [{"text": "Ketamine treatment session with vital-signs monitoring"}],
            "subject": patient, "period": period}
        if d.uuid:
            res["identifier"] = [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{d.uuid}"}]
        if self.clinician:
            res["participant"] = [{"individual": {"display": self.clinician}}]
        if self.clinic:
            res["serviceProvider"] = {"display": self.clinic}
        return self.add("encounter", res)

    def _devices(self) -> dict[str, dict[str, str]]:
        out = {}
        for source, spec in self.data.devices:
            out[source] = self.add(f"device/{source}", {
                "resourceType": "Device",
                "deviceName": [{"name": source, "type": "user-friendly-name"}],
                "type": {"text": spec.split(":", 1)[0]},
                "note": [{"text": f"Vigil device SPEC: {spec}"}]})
        return out

    def _vital(self, name: str, key: str, t_s: float, v: float, ctx: dict[str, Any],
               device: dict[str, str] | None) -> None:
        vit = VITALS[key]
        assert vit.loinc is not None
        res: dict[str, Any] = {
            "resourceType": "Observation", "meta": _vital_meta(vit.loinc), "status": "final",
            "category": _category("vital-signs", "Vital Signs"),
            "code": _loinc(vit.loinc, vit.label), **ctx,
            "effectiveDateTime": self.when(t_s), "valueQuantity": _quantity(key, v)}
        if device:
            res["device"] = device
        self.add(name, res)

    def _continuous(self, ctx: dict[str, Any], device: dict[str, str] | None) -> None:
        for key in continuous_keys():
            if VITALS[key].loinc is None:
                continue
            for i, t, v in minute_samples(self.data.series[key], self.data.end_t_s):
                self._vital(f"{key}/{i}", key, t, v, ctx, device)

    def _nibp(self, ctx: dict[str, Any], device: dict[str, str] | None) -> None:
        for i, r in enumerate(self.data.nibp):
            components = []
            for key in NIBP_KEYS:
                v = getattr(r, key)
                vit = VITALS[key]
                if v is not None and vit.loinc:
                    components.append({"code": _loinc(vit.loinc, vit.label),
                                       "valueQuantity": _quantity(key, v)})
            res: dict[str, Any] = {
                "resourceType": "Observation", "meta": _vital_meta("85354-9"),
                "status": "final", "category": _category("vital-signs", "Vital Signs"),
                "code": _loinc("85354-9", "Blood pressure"), **ctx,
                "effectiveDateTime": self.when(r.t_s), "component": components}
            if device:
                res["device"] = device
            self.add(f"nibp/{i}", res)

    def _doses(self, ctx: dict[str, Any]) -> None:
        d = self.data
        for i, dose in enumerate(d.doses):
            med: dict[str, Any] = {"resourceType": "Medication", "id": "med",
                                   "code": {"text": dose.drug or "not recorded"}}
            if dose.lot:
                med["batch"] = {"lotNumber": dose.lot}
            done = dose.stop_s is not None or d.status is not SessionStatus.ACTIVE
            res: dict[str, Any] = {
                "resourceType": "MedicationAdministration", "contained": [med],
                "status": "completed" if done else "in-progress",
                "medicationReference": {"reference": "#med"},
                "subject": ctx["subject"], "context": ctx["encounter"],
                "performer": [{"actor": {"display": dose.author}}]}
            if dose.stop_s is not None:
                res["effectivePeriod"] = {"start": self.when(dose.start_s),
                                          "end": self.when(dose.stop_s)}
            else:
                res["effectiveDateTime"] = self.when(dose.start_s)
            dosage: dict[str, Any] = {}
            route = _route(dose.route)
            if route:
                dosage["route"] = route
            if dose.dose_mg is not None:
                dosage["dose"] = {"value": _num(dose.dose_mg), "unit": "mg", "system": UCUM,
                                  "code": "mg"}
            if dose.infusion_min:
                dosage["text"] = f"over {fmt.number(dose.infusion_min, 1)} min"
            if dosage:
                res["dosage"] = dosage
            self.add(f"dose/{i}", res)

    def _scores(self, ctx: dict[str, Any]) -> None:
        for i, r in enumerate(self.data.ratings):
            self.add(f"rating/{i}", self._score(r.scale, r.kind, r.t_s, r.score, r.author, ctx))
        for i, dis in enumerate(self.data.discharges):
            if dis.score is None:
                continue
            res = self._score(dis.scale, "discharge", dis.t_s, dis.score, dis.author, ctx)
            if dis.ready_t_s is not None:
                res["component"] = [{"code": {"text": "Clinically ready to leave"},
                                     "valueDateTime": self.when(dis.ready_t_s)}]
            self.add(f"discharge/{i}", res)

    def _score(self, scale: str, kind: str, t_s: float, score: float, author: str,
               ctx: dict[str, Any]) -> dict[str, Any]:
        name = SCORE_NAMES.get(scale, scale)
        res: dict[str, Any] = {
            "resourceType": "Observation", "status": "final",
            "category": _category("survey", "Survey"),
            "code": {"coding": [{"system": SCORE_SYSTEM, "code": scale, "display": name}],
                     "text": f"{kind.capitalize()}: {name}"}, **ctx,
            "effectiveDateTime": self.when(t_s), "performer": [{"display": author}]}
        if float(score).is_integer():
            res["valueInteger"] = int(score)
        else:
            res["valueQuantity"] = {"value": float(score)}
        return res


def _route(route: str | None) -> dict[str, Any] | None:
    if route is None:
        return None
    try:
        code, display = ROUTES[Route(route)]
    except ValueError:
        return {"text": route}
    return {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": display}


def minute_samples(s: Series, end_t_s: float) -> list[tuple[int, float, float]]:
    """(minute, t_s, value): the last measured sample at or before each minute mark, if it
    is current (within the vital's stale time) and not already used for an earlier mark."""
    out: list[tuple[int, float, float]] = []
    if not len(s.t_s):
        return out
    stale = VITALS[s.key].stale_after_s or CONTINUOUS_INTERVAL_S
    marks = np.arange(0.0, end_t_s + 1e-9, CONTINUOUS_INTERVAL_S)
    idx = np.searchsorted(s.t_s, marks, side="right") - 1
    last = -1
    for m, (mark, i) in enumerate(zip(marks.tolist(), idx.tolist(), strict=True)):
        if i < 0 or i == last or mark - float(s.t_s[i]) > stale:
            continue
        last = i
        out.append((m, float(s.t_s[i]), float(s.values[i])))
    return out


def build_bundle(data: ReportData, *, clinic: str | None = None,
                 clinician: str | None = None) -> dict[str, Any]:
    return _Builder(data, clinic, clinician).build()


def write_bundle(data: ReportData, out: IO[str], *, clinic: str | None = None,
                 clinician: str | None = None) -> int:
    """Writes the bundle as JSON; returns the number of resources."""
    bundle = build_bundle(data, clinic=clinic, clinician=clinician)
    json.dump(bundle, out, indent=1, ensure_ascii=False)
    out.write("\n")
    return len(bundle["entry"])
