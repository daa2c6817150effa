"""What the dashboard needs from the rest of Vigil, as small Protocols.

The alarm engine (alarms/) satisfies `AlarmSource` and `LimitSource`; tests use fakes.
Every `AlarmSource` method runs on the device-io thread: the GUI reaches it through
`ui.bridge.AlarmControl`, never directly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from alarms.model import AlarmEvent, AlarmSnapshot
from monitor.session import TimelineEntry

Limits = tuple[float | None, float | None]  # (low, high); None: that side is off


class AlarmSource(Protocol):
    def snapshot(self) -> AlarmSnapshot: ...

    def add_listener(self, listener: Callable[[AlarmEvent], None]) -> None:
        """`listener(event)` for every alarm event (the trend folds them into episodes)."""

    def acknowledge(self, key: str | None = None, user: str = "") -> object: ...

    def pause_audio(self, user: str = "") -> object: ...

    def set_audio_available(self, available: bool) -> None: ...


class LimitSource(Protocol):
    def limits_for(self, vital: str) -> Limits | None: ...


class EntrySink(Protocol):
    """The session's timeline for quick entry (ui/entries.py): the recorder's entry API and
    the stored entries. Called on the GUI thread."""

    preset: str | None  # the alarm preset: when the REMS checkpoints fall

    def add_entry(self, kind: str, data: Mapping[str, Any], author: str,
                  t_s: float | None = None) -> int: ...

    def edit_entry(self, entry_id: int, author: str, *, t_s: float | None = None,
                   data: Mapping[str, Any] | None = None) -> None: ...

    def entries(self) -> tuple[TimelineEntry, ...]: ...

    def dose_data(self) -> Mapping[str, Any]: ...
