"""What the dashboard needs from the rest of Vigil, as small Protocols.

The alarm engine (alarms/) satisfies `EditableAlarms` (and so `AlarmSource`, `LimitSource`
and `LimitEngine`); tests use fakes. The UI asks these, never `hasattr`, what a source can do.
Every `AlarmSource` method runs on the device-io thread: the GUI reaches it through
`ui.bridge.AlarmControl`, never directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from alarms.model import AlarmEvent, AlarmSnapshot
from alarms.presets import Preset
from alarms.rules import LimitRule

# The session's timeline for quick entry (ui/entries.py) is defined beside the quick-entry
# model, which uses it without Qt.
from monitor.quick_entry import EntrySink as EntrySink

Limits = tuple[float | None, float | None]  # (low, high); None: that side is off


class LimitSource(Protocol):
    def limits_for(self, vital: str) -> Limits | None: ...


class AlarmSource(LimitSource, Protocol):
    """The alarms the dashboard shows and commands; every source also gives its limits
    (the tiles show them)."""

    def snapshot(self) -> AlarmSnapshot: ...

    def add_listener(self, listener: Callable[[AlarmEvent], None]) -> None:
        """`listener(event)` for every alarm event (the trend folds them into episodes)."""

    def acknowledge(self, key: str | None = None, user: str = "") -> object: ...

    def pause_audio(self, user: str = "") -> object: ...

    def set_audio_available(self, available: bool) -> None: ...


class LimitEngine(Protocol):
    """What the alarm-limits dialog reads of the engine (immutable tuples, safe from any
    thread): the limit rules in force, and the preset the session started with."""

    def limit_rules(self) -> tuple[LimitRule, ...]: ...

    @property
    def initial_preset(self) -> Preset: ...


class EditableAlarms(AlarmSource, LimitEngine, Protocol):
    """An alarm source whose limits the nurse can change (the recorder's engine)."""
