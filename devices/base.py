"""The one interface every driver implements, and the errors drivers raise.

A driver is created from a device SPEC, then, on the runtime's asyncio thread:
`await connect()`, `async for msg in stream()`, `await close()`. `stream()` yields
`monitor.messages` objects stamped by the session clock. A driver raises
`DeviceDisconnected` when the link is lost; the device manager reconnects with back-off.
A driver never yields a value the device marked invalid: it yields a DeviceCondition.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence

from monitor.clock import SessionClock
from monitor.messages import Message


class DeviceError(Exception):
    """A device cannot be used; the message says which and why, in words a nurse can use.

    `messages` (e.g. a DeviceCondition saying the device must be paired) are recorded, in
    order, before the device is marked disconnected."""

    messages: tuple[Message, ...] = ()  # also for subclasses with an __init__ of their own

    def __init__(self, *args: object, messages: Sequence[Message] = ()) -> None:
        super().__init__(*args)
        self.messages = tuple(messages)


class DeviceDisconnected(DeviceError):
    """The link to the device is lost (unplugged, out of range, powered off)."""


class SpecError(ValueError):
    """A device SPEC that cannot be understood."""


class Driver(ABC):
    """Base class for drivers; subclasses set the class attributes that describe them."""

    #: Generated data (simulator, replay): may run at --speed N or max.
    simulated: bool = False
    #: A finite source (a recording): its stream ends, and the device is then done.
    finite: bool = False
    #: The device counts as stale after this long with no message (None: never).
    stale_after_s: float | None = 5.0

    def __init__(self, source: str, spec: str, clock: SessionClock) -> None:
        self.source = source
        self.spec = spec
        self.clock = clock

    @abstractmethod
    async def connect(self) -> None:
        """Opens the link; raises DeviceError (or DeviceDisconnected) if it cannot."""

    @abstractmethod
    def stream(self) -> AsyncIterator[Message]:
        """Messages until the link is lost (raises DeviceDisconnected) or a recording ends."""

    async def close(self) -> None:  # noqa: B027 - optional for drivers with nothing to release
        """Releases the link; must not raise and must leave no task or thread behind."""
