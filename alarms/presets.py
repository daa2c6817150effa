"""The alarm presets for ketamine sessions, as data.

The default table is clinical.md §11.1 ("suggested defaults for a ketamine session"); every
rule's `source` names the published figure it follows or says it is a design choice. The
four presets share the limits and differ in the route-specific advisories: when the
post-dose BP check falls due and whether a minimum monitoring time applies.
All of it is configuration for the responsible organisation, not a clinical judgement.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType

from alarms.model import AlarmKind, Priority
from alarms.rules import (
    ArtefactRule,
    BpCheckRule,
    CurrencyRule,
    DeviceConditionRule,
    LimitRule,
    MinMonitoringRule,
    NibpOverdueRule,
    Op,
    RelativeRule,
    SystemRule,
    When,
)
from monitor.messages import Condition

H, M, L = Priority.HIGH, Priority.MEDIUM, Priority.LOW
ESCALATE_S = 180.0  # an unacknowledged MEDIUM alarm becomes HIGH after 3 min
_ESC = "design choice: escalation after 3 min unacknowledged (IEC 60601-1-8 leaves it open)"


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    description: str
    limits: tuple[LimitRule, ...]
    relative: tuple[RelativeRule, ...]
    artefacts: tuple[ArtefactRule, ...]
    currency: tuple[CurrencyRule, ...]
    nibp_overdue: NibpOverdueRule | None
    device: tuple[DeviceConditionRule, ...]
    system: tuple[SystemRule, ...]
    bp_check: BpCheckRule | None
    min_monitoring: MinMonitoringRule | None
    latch_high: bool = True  # HIGH physiological alarms stay shown until acknowledged
    audio_pause_s: float = 120.0
    reminder_s: float | None = 180.0  # an acknowledged alarm still present sounds again
    sources: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({
        "latch_high": "design choice: §11.3, visual latching of HIGH physiological alarms",
        "audio_pause_s": "design choice: 2 min as Dräger and Masimo (§1.5, §11.3)",
        "reminder_s": "design choice: §11.3, reminder for acknowledged active alarms every "
                      "3 min, within Philips (2 or 3 min) and Masimo (3 min) (§1.5)",
    }))

    def system_rule(self, rule_id: str) -> SystemRule | None:
        return next((r for r in self.system if r.id == rule_id), None)

    def device_rule(self, condition: Condition) -> DeviceConditionRule | None:
        return next((r for r in self.device if r.condition is condition), None)

    def display_limits(self, vital: str) -> tuple[float | None, float | None] | None:
        """The (low, high) limits a tile shows: the first limit crossed on each side (the
        least severe rule); None on a side without a physiological limit, None overall for a
        vital without any."""
        rules = [r for r in self.limits if r.vital == vital
                 and r.kind is AlarmKind.PHYSIOLOGICAL]
        if not rules:
            return None
        lows = [r.limit for r in rules if r.op in (Op.LT, Op.LE)]
        highs = [r.limit for r in rules if r.op in (Op.GT, Op.GE)]
        return (max(lows) if lows else None, min(highs) if highs else None)


def _limits() -> tuple[LimitRule, ...]:
    s111 = "clinical.md §11.1"
    hr_src = f"design choice ({s111}): anecdotal clinic trigger HR > 120 (§5.1)"
    hrl_src = f"design choice ({s111}): Dartmouth 50 bpm (unverified)"
    rules = [
        LimitRule("spo2-low", "spo2", Op.LT, 90, M, "SpO2 LOW",
                  f"published ({s111}): Mindray SpO2 low 90 % (§1.8); a 15 s delay cuts "
                  "nuisance alarms by 60 % (Welch 2011, §4)",
                  delay_s=15, hysteresis=1, escalate_after_s=ESCALATE_S),
        LimitRule("spo2-critical", "spo2", Op.LT, 85, H, "SpO2 CRITICAL",
                  f"design choice ({s111}): zero-delay desaturation tier as Mindray 80 % and "
                  "Philips Desat (§1.8), at 85 % for room-air outpatients", hysteresis=1),
        LimitRule("hr-high", "hr", Op.GT, 120, M, "HR HIGH", hr_src, delay_s=10,
                  hysteresis=5, escalate_after_s=ESCALATE_S),
        LimitRule("hr-low", "hr", Op.LT, 50, M, "HR LOW", hrl_src, delay_s=10,
                  hysteresis=3, escalate_after_s=ESCALATE_S),
        LimitRule("hr-extreme-low", "hr", Op.LT, 30, H, "HR EXTREME LOW",
                  "design choice: asystole, VF or extreme bradycardia can kill within "
                  "minutes, so HIGH with no delay (IEC 60601-1-8 Table 1, §1.1), a zero-delay "
                  "tier as SpO2 critical; 30 bpm = the HR-low limit minus 20, as bedside "
                  "monitors' red extreme-brady alarm (unverified). A monitor's own valid "
                  "HR 0 (VF, asystole) alarms here, never as a LOW 'leads off?'",
                  hysteresis=3),
        # PR alarms only for a device that gives no ECG heart rate (a pulse oximeter alone):
        # with both, the same heartbeat would raise two alarms.
        LimitRule("pr-high", "pr", Op.GT, 120, M, "PR HIGH", hr_src, delay_s=10,
                  hysteresis=5, escalate_after_s=ESCALATE_S, fallback_for="hr"),
        LimitRule("pr-low", "pr", Op.LT, 50, M, "PR LOW", hrl_src, delay_s=10,
                  hysteresis=3, escalate_after_s=ESCALATE_S, fallback_for="hr"),
        LimitRule("rr-low", "rr", Op.LT, 8, M, "RR LOW",
                  f"design choice ({s111}): respiratory depression (§5.1); no published "
                  "threshold", delay_s=15, hysteresis=1, escalate_after_s=ESCALATE_S),
        LimitRule("rr-high", "rr", Op.GT, 30, L, "RR HIGH",
                  f"design choice ({s111}); no published threshold", delay_s=15, hysteresis=2),
        LimitRule("sbp-high", "sbp", Op.GE, 180, M, "NIBP SYS HIGH",
                  f"design choice ({s111}): clinic trigger 180/110 (§5.1); APA 180/100 "
                  "(unverified); no NIBP delay (§3)", escalate_after_s=ESCALATE_S),
        LimitRule("dbp-high", "dbp", Op.GE, 110, M, "NIBP DIA HIGH",
                  f"design choice ({s111}): clinic trigger 180/110 (§5.1)",
                  escalate_after_s=ESCALATE_S),
        LimitRule("sbp-very-high", "sbp", Op.GE, 200, H, "NIBP SYS VERY HIGH",
                  f"design choice ({s111}): single-reading trigger 200/120 (§5.1)"),
        LimitRule("dbp-very-high", "dbp", Op.GE, 120, H, "NIBP DIA VERY HIGH",
                  f"design choice ({s111}): single-reading trigger 200/120 (§5.1)"),
        LimitRule("sbp-low", "sbp", Op.LT, 90, M, "NIBP SYS LOW",
                  f"design choice ({s111}): hypotension is listed (§7); no published "
                  "threshold", escalate_after_s=ESCALATE_S),
        LimitRule("sbp-predose", "sbp", Op.GT, 140, L,
                  "BP above 140/90 before dosing: consider deferring the dose",
                  "published: J&J guide, BP > 140/90 before Spravato (§5.1)",
                  when=When.PRE_DOSE, kind=AlarmKind.ADVISORY),
        LimitRule("dbp-predose", "dbp", Op.GT, 90, L,
                  "BP above 140/90 before dosing: consider deferring the dose",
                  "published: J&J guide, BP > 140/90 before Spravato (§5.1)",
                  when=When.PRE_DOSE, kind=AlarmKind.ADVISORY),
    ]
    return tuple(rules)


def _relative() -> tuple[RelativeRule, ...]:
    src = ("design choice on a published definition (§11.1): the label's notable increase "
           "≥ 40 systolic and/or ≥ 25 diastolic mmHg, 8–19 % of patients (§5.1)")
    return (RelativeRule("sbp-rise", "sbp", 40, L, "SYS +40 mmHg over pre-dose", src),
            RelativeRule("dbp-rise", "dbp", 25, L, "DIA +25 mmHg over pre-dose", src))


def _artefacts() -> tuple[ArtefactRule, ...]:
    src = ("design choice (§11.1 sensor off, LOW → MEDIUM, 10 s, within Mindray 5–15 s): "
           "an implausible value or a monitor's 0 placeholder is not a measurement")
    return (
        ArtefactRule("spo2-invalid", "spo2", L, "SpO2 no valid signal (probe off?)", src,
                     delay_s=10, escalate_after_s=60),
        ArtefactRule("hr-invalid", "hr", L, "HR no valid signal (leads off?)", src,
                     delay_s=10, escalate_after_s=60),
        ArtefactRule("rr-invalid", "rr", L, "RR no valid signal", src, delay_s=10),
        ArtefactRule("nibp-invalid", "sbp", L, "NIBP reading invalid",
                     "design choice (§11.1 NIBP failed, LOW technical): SYS <= DIA, MAP "
                     "outside [DIA, SYS] or a value out of range is not a reading"),
    )


def _currency() -> tuple[CurrencyRule, ...]:
    return (
        CurrencyRule("spo2-not-current", "spo2", M, "SpO2 not current",
                     "published (secondary): ISO 80601-2-61 §201.12.4.101, no datum for 30 s "
                     "(§2, §11.1)"),
        CurrencyRule("hr-not-current", "hr", M, "HR not current",
                     "design choice: as SpO2 (30 s, vital registry)"),
        CurrencyRule("rr-not-current", "rr", L, "RR not current",
                     "design choice: 60 s (vital registry), RR updates slowly"),
    )


def _device() -> tuple[DeviceConditionRule, ...]:
    s = "design choice (§11.1 sensor off / searching: LOW → MEDIUM, 10 s)"
    return (
        DeviceConditionRule(Condition.SENSOR_OFF, L, "probe off", s, 10, 60),
        DeviceConditionRule(Condition.NO_FINGER, L, "no finger", s, 10, 60),
        DeviceConditionRule(Condition.SEARCHING, L, "searching", s, 10, 60),
        DeviceConditionRule(Condition.LOW_PERFUSION, L, "low perfusion",
                            "design choice: quality warning", 10, invalidates=False),
        DeviceConditionRule(Condition.POOR_SIGNAL, L, "poor signal",
                            "design choice: quality warning", 10, invalidates=False),
        DeviceConditionRule(Condition.SENSOR_FAULT, M, "sensor fault",
                            "design choice: monitoring is compromised (Mindray, §1.2)"),
        DeviceConditionRule(Condition.MEASUREMENT_FAILED, L, "measurement failed",
                            "design choice (§11.1 NIBP failed: LOW technical)",
                            invalidates=False),
        DeviceConditionRule(Condition.MEASUREMENT_INVALID, L, "measurement invalid",
                            "design choice (§11.1 NIBP failed: LOW technical)"),
        DeviceConditionRule(Condition.DEMO_DATA, M, "demo data, not the patient",
                            "design choice: demo values must never pass for clinical data"),
        DeviceConditionRule(Condition.LOW_BATTERY, L, "battery low",
                            "design choice: LOW technical", invalidates=False),
        DeviceConditionRule(Condition.PAIRING_REQUIRED, M, "pairing required",
                            "design choice: the device sends nothing until paired",
                            invalidates=False),
    )


def _system() -> tuple[SystemRule, ...]:
    return (
        SystemRule("link-lost", M, "device disconnected",
                   "design choice (§1.10, §11.1 link lost: MEDIUM technical); confirmed "
                   "after 5 s as Mindray's technical-alarm delay (§4)", delay_s=5),
        SystemRule("battery-low", L, "device battery low",
                   "design choice: LOW technical below 20 %, clears at 25 %",
                   threshold=20, hysteresis=5),
        SystemRule("audio-unavailable", M, "audio output unavailable",
                   "design choice: alarms would be silent (§1.4 alarm-system failure)"),
        SystemRule("storage-failure", M, "storage failure: data kept in memory",
                   "design choice: the record is at risk"),
        SystemRule("central-link", L, "central station link down",
                   "design choice: IEC 60601-1-8 §6.11 asks for a technical alarm at each end "
                   "of a failed distributed link (central.md §3); LOW, as the room's own "
                   "screen and sound are unaffected"),
    )


def _base(name: str, description: str, bp_check_s: float, bp_src: str,
          min_monitoring: MinMonitoringRule | None) -> Preset:
    return Preset(
        name=name, description=description, limits=_limits(), relative=_relative(),
        artefacts=_artefacts(), currency=_currency(),
        nibp_overdue=NibpOverdueRule(
            "nibp-overdue", 10 * 60, 2 * 60, L, "NIBP overdue",
            "design choice (§11.1 NIBP overdue: interval + 2 min, LOW technical) on the "
            "§11.2 schedule: every 10 min before the dose to 60 min after, then every 15 min",
            steps=((60 * 60, 15 * 60),)),
        device=_device(), system=_system(),
        bp_check=BpCheckRule("bp-check-due", bp_check_s, 5 * 60, L, "BP check due", bp_src),
        min_monitoring=min_monitoring)


_REMS_2H = MinMonitoringRule(
    "min-monitoring", 2 * 3600, L, "2 h minimum monitoring not reached",
    "published: Spravato REMS, monitor at least two hours (§5.1)")

PRESETS: MappingProxyType[str, Preset] = MappingProxyType({p.name: p for p in (
    _base("iv-ketamine", "IV racemic ketamine 0.5 mg/kg over 40 min", 40 * 60,
          "published time: BP peaks at 40 min in IV infusions (Yale 2024, §5.2); "
          "5 min window by design", None),
    _base("esketamine-rems", "Spravato (esketamine nasal spray) under the REMS", 40 * 60,
          "published: BP 40 min after administration (Spravato label, REMS form §9.1); "
          "5 min window by design", _REMS_2H),
    _base("im-ketamine", "IM racemic ketamine 0.25–0.5 mg/kg", 20 * 60,
          "design choice: IM effects within minutes, BP peak window 10–35 min (§5.3)", None),
    _base("sublingual", "sublingual ketamine (troche or tablet)", 30 * 60,
          "design choice: effects ~20 min after a ~10 min hold (§5.3)", None),
)})
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
DEFAULT_PRESET = "iv-ketamine"


def preset(name: str | None) -> Preset:
    """The preset called `name` (None: the default); a clear KeyError otherwise."""
    try:
        return PRESETS[name or DEFAULT_PRESET]
    except KeyError:
        raise KeyError(f"unknown alarm preset {name!r}; known: {', '.join(PRESETS)}") from None


def with_rules(base: Preset, **changes: object) -> Preset:
    """A copy of `base` with some fields replaced (per-patient limits, tests)."""
    # mypy checks replace()'s keywords against each field's type, which a generic
    # `**changes` cannot carry; replace() itself rejects an unknown field at run time.
    return replace(base, **changes)  # type: ignore[arg-type]
