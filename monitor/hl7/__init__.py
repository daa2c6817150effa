"""Vitals and alarms to the clinic's record: IHE PCD-01 and PCD-04 over HL7 v2.6 and MLLP.

codes (MDC and local codes), messages (ORU^R01, ORU^R40, ACK), outbox (the queue in the
session store), mllp (the asyncio client), feed (the sink on the device-io loop) and batch
(the FHS/BHS file).
"""

DEFAULT_PERIOD_S = 60.0  # --hl7-period: seconds of session time between vitals messages
DOWN_AFTER_S = 300.0  # a receiver silent this long is "EHR feed down" (LOW technical)
