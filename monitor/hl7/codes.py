"""What each observation is called in HL7: ISO/IEEE 11073 MDC codes (code = partition x
65536 + term), its unit, and its place in the containment tree (MDS.VMD.CHAN.METRIC).

Vigil is one MDS (`1`); each vital's device group is a VMD: 1 ECG, 2 pulse oximeter,
3 NIBP, 4 respiration. The scores have no MDC term and no LOINC code could be verified
for any of them (as in the FHIR export), so they go as Vigil's local codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from alarms.model import AlarmKind, Priority


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    name: str
    system: str  # HL7 table 0396: MDC, LN, or Vigil's local 99VGL

    def cwe(self) -> str:
        return f"{self.code}^{self.name}^{self.system}"


@dataclass(frozen=True, slots=True)
class VitalCode:
    metric: Code
    unit: Code
    path: str  # OBX-4: MDS.VMD.CHAN.METRIC


def _mdc(code: int, name: str) -> Code:
    return Code(str(code), name, "MDC")


_BPM = _mdc(264864, "MDC_DIM_BEAT_PER_MIN")
_MMHG = _mdc(266016, "MDC_DIM_MMHG")

VITAL_CODES: MappingProxyType[str, VitalCode] = MappingProxyType({
    "hr": VitalCode(_mdc(147842, "MDC_ECG_HEART_RATE"), _BPM, "1.1.1.1"),
    "spo2": VitalCode(_mdc(150456, "MDC_PULS_OXIM_SAT_O2"), _mdc(262688, "MDC_DIM_PERCENT"),
                      "1.2.1.1"),
    "pr": VitalCode(_mdc(149530, "MDC_PULS_OXIM_PULS_RATE"), _BPM, "1.2.1.2"),
    "sbp": VitalCode(_mdc(150021, "MDC_PRESS_BLD_NONINV_SYS"), _MMHG, "1.3.1.1"),
    "dbp": VitalCode(_mdc(150022, "MDC_PRESS_BLD_NONINV_DIA"), _MMHG, "1.3.1.2"),
    "map": VitalCode(_mdc(150023, "MDC_PRESS_BLD_NONINV_MEAN"), _MMHG, "1.3.1.3"),
    "rr": VitalCode(_mdc(151562, "MDC_RESP_RATE"), _mdc(264928, "MDC_DIM_RESP_PER_MIN"),
                    "1.4.1.1"),
})

# The MDS row: Vigil itself, a multi-parameter physiological monitor.
MDS = _mdc(69965, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS")
LOCAL = "99VGL"
# Scale (as the timeline stores it) -> local code. No LOINC code verified for any.
SCORE_CODES: MappingProxyType[str, Code] = MappingProxyType({
    "level": Code("VGL-DISS-LEVEL", "Dissociation intensity 0-4", LOCAL),
    "cadss6": Code("VGL-CADSS6", "CADSS-6 total", LOCAL),
    "moaas": Code("VGL-MOAAS", "MOAA/S", LOCAL),
    "rass": Code("VGL-RASS", "RASS", LOCAL),
    "aldrete": Code("VGL-ALDRETE", "Modified Aldrete score", LOCAL),
    "padss": Code("VGL-PADSS", "PADSS", LOCAL),
})

# PCD-04: the alert's identity and attributes (ISO/IEEE 11073-10101 events and attributes).
EVT_ALARM = _mdc(196616, "MDC_EVT_ALARM")
EVENT_PHASE = _mdc(68481, "MDC_ATTR_EVENT_PHASE")
ALARM_STATE = _mdc(68482, "MDC_ATTR_ALARM_STATE")
INACTIVATION_STATE = _mdc(68483, "MDC_ATTR_ALARM_INACTIVATION_STATE")
ALARM_PRIORITY = _mdc(68484, "MDC_ATTR_ALARM_PRIORITY")
ALERT_TYPE = _mdc(68485, "MDC_ATTR_ALERT_TYPE")
PRIORITY_CODES = {Priority.HIGH: "PH", Priority.MEDIUM: "PM", Priority.LOW: "PL"}
ALERT_TYPES = {AlarmKind.PHYSIOLOGICAL: "SP", AlarmKind.TECHNICAL: "ST",
               AlarmKind.ADVISORY: "SA"}
# The path of an alert with no vital: Vigil's own MDS.
SYSTEM_PATH = "1.0.0.0"

PROFILE_PCD01 = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
PROFILE_PCD04 = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO"
