"""Who is signed in at one screen (the room's dashboard, the session browser), Qt-free.

Signing in never gates the vitals or the alarms: it only names who did what. A person stays
signed in until they sign out, another signs in, or `idle_s` passes with no input (`touch`
on every key or touch). With no accounts in the store, records say `UNIDENTIFIED`; with
accounts and nobody signed in, `UNIDENTIFIED_ROOM`. A step that needs a clinician (loosening
a limit beyond the preset, signing the discharge) takes one clinician's name and PIN for
that step only (`authorize`), leaving whoever is signed in as they were.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor import audit
from monitor.staff import (
    UNIDENTIFIED,
    UNIDENTIFIED_ROOM,
    AuthError,
    Role,
    StaffDirectory,
    StaffMember,
)

log = logging.getLogger(__name__)

DEFAULT_IDLE_S = 10 * 60.0  # the site setting's default (`--signout-after` minutes)
# The longest an action at a screen waits for the store's write lock before its audit row is
# kept for later: the GUI thread writes it, and the screen must not freeze meanwhile.
SCREEN_BUSY_S = 0.2


@dataclass(frozen=True, slots=True)
class PendingRow:
    """An audit row not written yet (the store was locked or failing), stamped when done."""

    t_wall: float
    actor: str
    action: str
    session_id: int | None
    detail: Mapping[str, Any]


class SignIn:
    """One screen's signed-in person. `clock` is monotonic (tests move it on)."""

    def __init__(self, directory: StaffDirectory, where: str = "room screen",
                 idle_s: float = DEFAULT_IDLE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self.where = where
        self.idle_s = idle_s
        self.clock = clock
        self.session_id: int | None = None  # the audit rows' session, where there is one
        self.current: StaffMember | None = None
        self._last_input = clock()
        self._accounts: bool | None = None
        self._has_audit = False
        self.pending: deque[PendingRow] = deque()  # oldest first: the chain keeps their order
        self._failing = False
        self._writing = threading.Lock()  # entries may be recorded from any thread

    # -- who ---------------------------------------------------------------------------

    def accounts_exist(self) -> bool:
        """Read once, then again after each sign-in attempt (accounts are made at the CLI,
        so a running screen learns of the first one at its first sign-in)."""
        if self._accounts is None:
            self._accounts = self.directory.any_accounts()
        return self._accounts

    def author(self) -> str:
        """How the record names whoever acts now at this screen."""
        if self.current is not None:
            return self.current.label
        return UNIDENTIFIED_ROOM if self.accounts_exist() else UNIDENTIFIED

    def is_clinician(self) -> bool:
        return self.current is not None and self.current.role is Role.CLINICIAN

    # -- signing in and out --------------------------------------------------------------

    def check(self, name: str, pin: str) -> StaffMember:
        """The member whose name and PIN these are (AuthError, audited, if refused). It
        changes nothing at this screen, so it may run off the GUI thread: argon2id takes a
        few hundred ms by design, and the screen must not stall for it."""
        self._accounts = None  # an attempt: accounts may have been made since (one store)
        return self.directory.authenticate(name, pin, self.where, self.session_id)

    def sign_in(self, name: str, pin: str) -> StaffMember:
        """AuthError (already audited) when refused; whoever was signed in stays then."""
        return self.finish_sign_in(self.check(name, pin))

    def finish_sign_in(self, member: StaffMember) -> StaffMember:
        """`member`, checked, is now the one signed in here."""
        self._accounts = None
        if self.current is not None:
            self._record(self.current.label, "sign-out", {"why": f"{member.name} signed in"})
        self.current = member
        self._last_input = self.clock()
        self._record(member.label, "sign-in", {})
        return member

    def sign_out(self, why: str = "signed out") -> None:
        if self.current is not None:
            self._record(self.current.label, "sign-out", {"why": why})
            self.current = None

    def touch(self) -> None:
        """Input at the screen: the idle time starts again."""
        self._last_input = self.clock()

    def idle_for(self) -> float:
        return self.clock() - self._last_input

    def expire(self) -> bool:
        """Signs out whoever has been idle `idle_s`; True if that happened now."""
        if self.current is None or self.idle_for() < self.idle_s:
            return False
        self.sign_out(f"no input for {self.idle_s / 60:g} min")
        return True

    def authorize(self, step: str, name: str, pin: str) -> StaffMember:
        """A clinician's name and PIN for one step; AuthError if refused or not a
        clinician. Audited, with the step."""
        return self.finish_authorize(step, self.check(name, pin))

    def finish_authorize(self, step: str, member: StaffMember) -> StaffMember:
        """`member`, checked, signs for `step` if a clinician (AuthError otherwise)."""
        self._accounts = None
        if member.role is not Role.CLINICIAN:
            self._record(member.label, "step-refused", {"step": step, "why": "not a clinician"})
            raise AuthError(f"{member.name} is a {member.role}: {step} needs a clinician")
        self._record(member.label, "step-authorized", {"step": step})
        return member

    # -- the audit trail ---------------------------------------------------------------

    def record(self, action: str, detail: Mapping[str, Any] | None = None,
               actor: str | None = None, session_id: int | None = None) -> None:
        """An action at this screen, by `actor` (default: whoever is signed in)."""
        self._record(actor or self.author(), action, detail or {}, session_id)

    def _record(self, actor: str, action: str, detail: Mapping[str, Any],
                session_id: int | None = None) -> None:
        if not self._has_audit:  # once there, the table stays: asked until then
            self._has_audit = self.directory.available()
            if not self._has_audit:
                return  # a store from before the audit trail, opened read-only
        with self._writing:
            self.pending.append(PendingRow(
                time.time(), actor, action,
                session_id if session_id is not None else self.session_id, dict(detail)))
        self.flush(SCREEN_BUSY_S)

    def flush(self, busy_s: float = 0.0) -> bool:
        """Writes the rows not written yet, oldest first, each waiting at most `busy_s` for
        the store; True when none is left. Never raises: the action a row records has been
        done already (an alarm never waits for its audit row), and a row that cannot be
        written now is kept, with the time it was done, for the next try (the screen's
        once-a-second check). Logged without patient data: the store's error only."""
        with self._writing:
            return self._flush(busy_s)

    def _flush(self, busy_s: float) -> bool:
        while self.pending:
            row = self.pending[0]
            try:
                audit.record(self.directory.path, row.actor, row.action, row.session_id,
                             row.detail, row.t_wall, busy_s)
            except audit.AuditError as e:
                if not self._failing:
                    log.error("audit trail not written (kept to retry): %s", e)
                    self._failing = True
                return False
            self.pending.popleft()
        if self._failing:
            log.warning("audit trail written again")
            self._failing = False
        return True
