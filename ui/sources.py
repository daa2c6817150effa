"""What the dashboard needs from the rest of Vigil, as small Protocols.

The alarm engine (alarms/) satisfies `AlarmSource` and `LimitSource`; tests use fakes.
Every `AlarmSource` method runs on the device-io thread: the GUI reaches it through
`ui.bridge.AlarmControl`, never directly.
"""

from __future__ import annotations

from typing import Protocol

from alarms.model import AlarmSnapshot

Limits = tuple[float | None, float | None]  # (low, high); None: that side is off


class AlarmSource(Protocol):
    def snapshot(self) -> AlarmSnapshot: ...

    def acknowledge(self, key: str | None = None, user: str = "") -> None: ...

    def pause_audio(self, user: str = "") -> None: ...

    def set_audio_available(self, available: bool) -> None: ...


class LimitSource(Protocol):
    def limits_for(self, vital: str) -> Limits | None: ...
