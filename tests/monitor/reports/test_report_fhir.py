"""The FHIR bundle validates against the R4B models and carries the session's values.

`fhir.resources` 8 ships R5 (default), R4B and STU3 models; R4B is used because it leaves
Patient, Encounter, Device, Observation, MedicationAdministration and Bundle as in R4 4.0.1.
Each entry's resource is validated with its own model (a Bundle alone types entries as a
generic Resource).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from monitor.reports.data import ReportData, deidentify, load_report
from monitor.reports.fhir import build_bundle
from monitor.session import SessionStatus
from monitor.store import SessionStore
from monitor.vitals import VITALS
from tests.monitor.reports.conftest import (
    CLINICIAN,
    DISSOCIATION,
    LOT,
    NOTE,
    PATIENT,
    SEDATION,
    SIDE_EFFECT,
    WEIGHT,
    Recorded,
)

LOINC = {"hr": "8867-4", "spo2": "59408-5", "pr": "8889-8", "sbp": "8480-6", "dbp": "8462-4",
         "map": "8478-0", "rr": "9279-1"}
BP_PANEL = "85354-9"


@pytest.fixture(scope="module")
def data(recorded: Recorded) -> ReportData:
    with SessionStore(recorded.db) as store:
        return load_report(store, recorded.session_id)


@pytest.fixture(scope="module")
def bundle(data: ReportData) -> dict[str, Any]:
    return build_bundle(data, clinic="Harbour", clinician=CLINICIAN)


# The models check structure, cardinality and types but not required code sets: those we use
# are checked here against R4's value sets.
STATUS = {"Observation": {"registered", "preliminary", "final", "amended"},
          "Encounter": {"planned", "arrived", "triaged", "in-progress", "onleave", "finished",
                        "cancelled", "entered-in-error", "unknown"},
          "MedicationAdministration": {"in-progress", "not-done", "on-hold", "completed",
                                       "entered-in-error", "stopped", "unknown"}}


def validate(bundle: dict[str, Any]) -> None:
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        res = entry["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
        if res["resourceType"] in STATUS:
            assert res["status"] in STATUS[res["resourceType"]], res
        for name in res.get("deviceName", []):
            assert name["type"] in {"udi-label-name", "user-friendly-name",
                                    "patient-reported-name", "manufacturer-name",
                                    "model-name", "other"}


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def when(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_bundle_validates_and_references_resolve(bundle: dict[str, Any]) -> None:
    validate(bundle)
    assert bundle["type"] == "collection"
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert len(urls) == len(bundle["entry"])
    refs = [m for m in _references(bundle) if not m.startswith("#")]
    assert refs and set(refs) <= urls
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Patient", "Encounter", "Device", "Observation", "MedicationAdministration"}


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for v in node.values() for r in _references(v)]
    if isinstance(node, list):
        return [r for v in node for r in _references(v)]
    return []


def test_validation_is_real(bundle: dict[str, Any]) -> None:
    obs = json.loads(json.dumps(resources(bundle, "Observation")[0]))
    del obs["status"]  # 1..1 in R4
    with pytest.raises(ValidationError):
        get_fhir_model_class("Observation").model_validate(obs)
    obs["status"] = "final"
    obs["valueQuantity"]["value"] = "seventy"  # a decimal in FHIR
    with pytest.raises(ValidationError):
        get_fhir_model_class("Observation").model_validate(obs)
    obs["valueQuantity"]["value"] = 70
    obs["subject"] = "Patient/1"  # a Reference, not a string
    with pytest.raises(ValidationError):
        get_fhir_model_class("Observation").model_validate(obs)


def test_patient_encounter_devices(bundle: dict[str, Any], data: ReportData) -> None:
    [patient] = resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == PATIENT
    [enc] = resources(bundle, "Encounter")
    assert enc["status"] == "finished"
    assert when(enc["period"]["start"]) == pytest.approx(data.start_wall, abs=1)
    assert when(enc["period"]["end"]) - when(enc["period"]["start"]) == pytest.approx(
        data.end_t_s, abs=1)
    assert enc["participant"][0]["individual"]["display"] == CLINICIAN
    assert [d["deviceName"][0]["name"] for d in resources(bundle, "Device")] == ["sim"]


def test_vital_observations_are_loinc_coded_store_values(bundle: dict[str, Any],
                                                         recorded: Recorded) -> None:
    with SessionStore(recorded.db) as store:
        start = store.load_session(recorded.session_id).start_wall
        stored: dict[tuple[str, float], float] = {}
        for t, _w, key, value, _src, _f in store.iter_samples(recorded.session_id):
            stored[(key, round(t, 2))] = value
    vitals = [o for o in resources(bundle, "Observation")
              if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    by_code: dict[str, int] = {}
    for o in vitals:
        coding = o["code"]["coding"][0]  # the measurement's own code first
        assert coding["system"] == "http://loinc.org"
        by_code[coding["code"]] = by_code.get(coding["code"], 0) + 1
        t = round(when(o["effectiveDateTime"]) - start, 2)
        if coding["code"] == BP_PANEL:
            comps = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in o["component"]}
            assert set(comps) == {LOINC["sbp"], LOINC["dbp"], LOINC["map"]}
            for key in ("sbp", "dbp", "map"):
                q = comps[LOINC[key]]
                assert q["value"] == stored[(key, t)]
                assert (q["system"], q["code"]) == ("http://unitsofmeasure.org",
                                                    VITALS[key].ucum)
        elif coding["code"] != "29463-7":
            key = next(k for k, c in LOINC.items() if c == coding["code"])
            assert o["valueQuantity"]["value"] == stored[(key, t)]
            assert VITALS[key].is_plausible(o["valueQuantity"]["value"])
            assert o["valueQuantity"]["code"] == VITALS[key].ucum
        else:
            assert o["valueQuantity"]["value"] == WEIGHT
    minutes = len(range(0, 7200 + 1, 60))
    for key in ("hr", "pr", "spo2", "rr"):  # one per minute mark, each a measured sample
        assert minutes - 2 <= by_code[LOINC[key]] <= minutes, key
    assert by_code[BP_PANEL] == len(range(30, 7200, 300))


# The R4 vital signs profiles, by the measurement's code: the profile, the codes it requires
# beside ours, and the UCUM unit (hl7.org/fhir/R4/observation-vitalsigns.html).
PROFILES = {"8867-4": ("heartrate", {"8867-4"}, "/min"),
            "59408-5": ("oxygensat", {"59408-5", "2708-6"}, "%"),
            "9279-1": ("resprate", {"9279-1"}, "/min"),
            "85354-9": ("bp", {"85354-9"}, None),
            "29463-7": ("bodyweight", {"29463-7"}, "kg"),
            "8889-8": (None, {"8889-8"}, "/min")}


def test_vital_signs_follow_the_r4_vital_signs_profiles(bundle: dict[str, Any]) -> None:
    vitals = [o for o in resources(bundle, "Observation")
              if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    seen = set()
    for o in vitals:
        assert o["category"][0]["coding"][0]["system"] == (
            "http://terminology.hl7.org/CodeSystem/observation-category")
        own = o["code"]["coding"][0]["code"]
        seen.add(own)
        profile, codes, unit = PROFILES[own]
        assert {c["code"] for c in o["code"]["coding"]} == codes
        assert all(c["system"] == "http://loinc.org" for c in o["code"]["coding"])
        base = "http://hl7.org/fhir/StructureDefinition/"
        assert o["meta"]["profile"] == [base + "vitalsigns"] + (
            [base + profile] if profile else [])
        assert o["subject"]["reference"].startswith("urn:uuid:")
        assert datetime.fromisoformat(o["effectiveDateTime"]).tzinfo is not None
        quantities = ([o["valueQuantity"]] if unit else
                      [c["valueQuantity"] for c in o["component"]])
        for q in quantities:
            assert q["system"] == "http://unitsofmeasure.org"
            assert q["code"] == (unit or "mm[Hg]")
        if own == "85354-9":  # the bp profile's two required components
            assert {"8480-6", "8462-4"} <= {c["code"]["coding"][0]["code"]
                                            for c in o["component"]}
    assert seen == set(PROFILES)


def test_doses_and_scores(bundle: dict[str, Any], data: ReportData) -> None:
    [med] = resources(bundle, "MedicationAdministration")
    [dose] = data.doses
    assert med["status"] == "completed"
    assert med["contained"][0]["batch"]["lotNumber"] == LOT
    assert med["contained"][0]["code"]["text"] == dose.drug
    assert med["dosage"]["dose"]["value"] == dose.dose_mg
    assert med["dosage"]["route"]["coding"][0]["code"] == "47625008"  # SNOMED intravenous
    assert when(med["effectivePeriod"]["end"]) - when(med["effectivePeriod"]["start"]) == (
        pytest.approx(dose.stop_s - dose.start_s, abs=1))
    scores = [o for o in resources(bundle, "Observation")
              if o["category"][0]["coding"][0]["code"] == "survey"]
    got = sorted((o["code"]["coding"][0]["code"], o["valueInteger"]) for o in scores)
    expected = sorted([("moaas", s) for _, s in SEDATION] + [("level", s) for _, s in
                                                              DISSOCIATION] + [("aldrete", 10)])
    assert got == expected
    [discharge] = [o for o in scores if o["code"]["coding"][0]["code"] == "aldrete"]
    assert discharge["component"][0]["valueDateTime"]


def test_deidentified_bundle_has_no_identifier(data: ReportData) -> None:
    anon = deidentify(data)
    bundle = build_bundle(anon)
    validate(bundle)
    text = json.dumps(bundle)
    assert data.uuid is not None
    for secret in (PATIENT, data.uuid, NOTE[1], SIDE_EFFECT[2]):
        assert secret not in text
    [patient] = resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == anon.patient
    assert bundle["meta"]["security"][0]["code"] == "PSEUDED"
    [enc] = resources(bundle, "Encounter")
    shift = data.start_wall - when(enc["period"]["start"])
    assert shift == pytest.approx(anon.date_shift_days * 86400, abs=1) and shift >= 86400
    identified = {e["fullUrl"] for e in build_bundle(data)["entry"]}
    assert identified.isdisjoint(e["fullUrl"] for e in bundle["entry"])


def test_running_session_is_in_progress(data: ReportData) -> None:
    running = replace(data, status=SessionStatus.ACTIVE, end_wall=None)
    bundle = build_bundle(running)
    validate(bundle)
    [enc] = resources(bundle, "Encounter")
    assert enc["status"] == "in-progress" and "end" not in enc["period"]
