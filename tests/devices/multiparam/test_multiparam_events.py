"""The pure mapping from session events to Vigil messages."""

from __future__ import annotations

from devices.conditions import ConditionChange
from devices.multiparam.events import (
    LinkDown,
    LinkUp,
    MonitorReading,
    to_messages,
)
from monitor.messages import Condition, DeviceCondition, Numerics


def test_live_reading_is_one_numerics_at_the_feeding_moment() -> None:
    # The monitor vouched for every value of a MonitorReading; its in-alarm flags come along.
    (msg,) = to_messages(MonitorReading((("hr", 0.0), ("spo2", 97.5)), in_alarm=("hr",)), "iv",
                         12.0, 1e9 + 12.0)
    assert msg == Numerics("iv", 1e9 + 12.0, 12.0, (("hr", 0.0), ("spo2", 97.5)),
                           validated=("hr", "spo2"), in_alarm=("hr",))


def test_nibp_reading_carries_the_monitors_time_of_measurement() -> None:
    (msg,) = to_messages(MonitorReading((("sbp", 120.0), ("dbp", 80.0), ("map", 93.0)), age_s=25.0),
                         "iv", 100.0, 1e9 + 100.0)
    assert msg.t_s == 75.0 and msg.t_wall == 1e9 + 75.0 and msg.get("map") == 93.0


def test_a_reading_from_before_the_session_maps_to_nothing() -> None:
    assert to_messages(MonitorReading((("sbp", 120.0),), age_s=300.0), "iv", 100.0, 1e9) == []
    assert to_messages(MonitorReading(()), "iv", 100.0, 1e9) == []


def test_condition_change_is_a_device_condition() -> None:
    ev = ConditionChange(Condition.DEMO_DATA, True, "hr", "monitor in demo mode")
    assert to_messages(ev, "iv", 5.0, 1e9 + 5) == [
        DeviceCondition("iv", 1e9 + 5, 5.0, Condition.DEMO_DATA, True, "hr",
                        "monitor in demo mode")]


def test_link_events_map_to_nothing() -> None:
    assert to_messages(LinkUp("x"), "iv", 1.0, 1.0) == []
    assert to_messages(LinkDown("x"), "iv", 1.0, 1.0) == []


def test_line_settings_and_baud_checks() -> None:
    import pytest

    from devices.base import SpecError
    from devices.multiparam.ports import DATEX, INTELLIVUE

    assert INTELLIVUE.baud("intellivue:/dev/ttyUSB0", None) == 115200
    assert INTELLIVUE.baud("intellivue:/dev/ttyUSB0@19200", "19200") == 19200
    assert not INTELLIVUE.rtscts and INTELLIVUE.parity == "N"
    assert DATEX.baud("datex:/dev/ttyS0", None) == 19200 and DATEX.rtscts
    assert DATEX.parity == "E"
    with pytest.raises(SpecError, match=r"9600 baud is not available.*115200 or 19200"):
        INTELLIVUE.baud("intellivue:/dev/ttyUSB0@9600", "9600")
    with pytest.raises(SpecError, match="'fast' is not a number"):
        DATEX.baud("datex:/dev/ttyS0@fast", "fast")
