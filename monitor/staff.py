"""Staff accounts in the session store: name, role, an argon2id hash of the PIN.

PINs are at least 6 digits and are kept only as argon2id hashes (argon2-cffi). Five wrong
PINs in a row lock the account for a minute. Once an admin exists, only an admin manages
accounts. Every change, failed PIN and lockout goes to the audit trail in the same
transaction as the change itself. With no accounts at all Vigil works as before, and what
staff do is recorded as by `UNIDENTIFIED`.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from monitor import audit, schema

MIN_PIN_DIGITS = 6
MAX_FAILURES = 5
LOCK_S = 60.0
UNIDENTIFIED = "unidentified staff"  # no accounts exist
UNIDENTIFIED_ROOM = "unidentified at the room screen"  # accounts exist, nobody signed in
BEFORE_SIGN_IN = schema.BEFORE_SIGN_IN  # what stores from before accounts recorded

_HASHER = PasswordHasher()  # argon2id, RFC 9106's second recommended parameters


class Role(StrEnum):
    NURSE = "nurse"
    CLINICIAN = "clinician"
    ADMIN = "admin"


class AuthError(Exception):
    """Credentials refused, or an account change not allowed; the message says why."""


@dataclass(frozen=True, slots=True)
class StaffMember:
    name: str
    role: Role

    @property
    def label(self) -> str:
        """How records name them: "Ann Lee (nurse)"."""
        return f"{self.name} ({self.role})"


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    disabled: bool
    locked_until: float | None  # epoch seconds; None or past: not locked
    created_wall: float


def parse_role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise AuthError(f"unknown role {text!r}: expected nurse, clinician or admin") from None


def check_pin(pin: str) -> str:
    """The PIN if it is acceptable, else AuthError saying what is wrong (never the PIN)."""
    if not pin.isascii() or not pin.isdigit() or len(pin) < MIN_PIN_DIGITS:
        raise AuthError(f"a PIN is at least {MIN_PIN_DIGITS} digits, and digits only")
    return pin


def read_pin_file(path: Path | str) -> str:
    """The PIN in the first line of `path`. Refused when others can read or write the file
    (it must be 0600 or 0400, as ssh asks of a key), or when it is not a regular file."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as e:
        raise AuthError(f"--pin-file {p}: cannot read it: {e.strerror}") from e
    if not stat.S_ISREG(st.st_mode):
        raise AuthError(f"--pin-file {p}: not a regular file")
    if st.st_mode & 0o077:
        raise AuthError(f"--pin-file {p}: readable or writable by others (mode "
                        f"{stat.S_IMODE(st.st_mode):04o}); refused: chmod 600 {p}")
    if st.st_uid != os.getuid():
        raise AuthError(f"--pin-file {p}: belongs to another user; refused")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise AuthError(f"--pin-file {p}: cannot read it: {e}") from e
    return lines[0].strip() if lines else ""


class StaffDirectory:
    """The accounts of the store at `path` (which must exist, at schema 5 or later).

    `clock` is the wall clock (epoch seconds): tests move it past a lockout."""

    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock

    # -- reading -----------------------------------------------------------------------

    def available(self) -> bool:
        """Whether the store has accounts at all (a store from before them has not)."""
        return audit.has_audit(self.path)

    def accounts(self) -> list[Account]:
        if not self.available():
            return []
        conn = audit.connect(self.path)
        try:
            found = conn.execute("SELECT name, role, disabled, locked_until, created_wall"
                                 " FROM staff ORDER BY name").fetchall()
        finally:
            conn.close()
        return [Account(n, Role(r), bool(d), lu, c) for n, r, d, lu, c in found]

    def any_accounts(self) -> bool:
        """True once an account exists: from then on, records name who did what."""
        return bool(self.accounts())

    def has_admin(self) -> bool:
        return any(a.role is Role.ADMIN and not a.disabled for a in self.accounts())

    # -- signing in ----------------------------------------------------------------------

    def authenticate(self, name: str, pin: str, where: str,
                     session_id: int | None = None) -> StaffMember:
        """The member whose name and PIN these are; AuthError otherwise. A wrong PIN is
        audited, and the fifth in a row locks the account for `LOCK_S`."""
        now = self.clock()
        with audit.transaction(self.path) as conn:
            row = conn.execute("SELECT name, role, pin_hash, disabled, failed, locked_until"
                               " FROM staff WHERE name = ?", (name.strip(),)).fetchone()
            if row is None:
                typed, shown = _as_typed(name)
                audit.append(conn, typed, "sign-in-refused", session_id,
                             {"where": where, "why": "unknown name"})
                why = f"no account named {shown}"
            else:
                who, role, pin_hash, disabled, failed, locked_until = row
                member = StaffMember(who, Role(role))
                if disabled:
                    audit.append(conn, member.label, "sign-in-refused", session_id,
                                 {"where": where, "why": "disabled"})
                    why = f"{who}: the account is disabled (an admin can enable it again " \
                          "with reset-pin)"
                elif locked_until is not None and locked_until > now:
                    audit.append(conn, member.label, "sign-in-refused", session_id,
                                 {"where": where, "why": "locked"})
                    why = (f"{who}: locked after {MAX_FAILURES} wrong PINs; try again in "
                           f"{int(locked_until - now) + 1} s")
                elif _matches(pin_hash, pin):
                    conn.execute("UPDATE staff SET failed = 0, locked_until = NULL WHERE"
                                 " name = ?", (who,))
                    if _HASHER.check_needs_rehash(pin_hash):
                        conn.execute("UPDATE staff SET pin_hash = ? WHERE name = ?",
                                     (_HASHER.hash(pin), who))
                    return member
                else:
                    failed += 1
                    audit.append(conn, member.label, "pin-failed", session_id,
                                 {"where": where, "failures": failed})
                    if failed >= MAX_FAILURES:
                        conn.execute("UPDATE staff SET failed = 0, locked_until = ? WHERE"
                                     " name = ?", (now + LOCK_S, who))
                        audit.append(conn, member.label, "locked-out", session_id,
                                     {"where": where, "seconds": LOCK_S})
                        why = (f"{who}: wrong PIN; {MAX_FAILURES} in a row: the account is "
                               f"locked for {LOCK_S:.0f} s")
                    else:
                        conn.execute("UPDATE staff SET failed = ? WHERE name = ?",
                                     (failed, who))
                        left = MAX_FAILURES - failed
                        why = f"{who}: wrong PIN ({left} more before a {LOCK_S:.0f} s lock)"
        raise AuthError(why)

    # -- managing accounts -------------------------------------------------------------

    def authorize_admin(self, by: StaffMember | None) -> str:
        """The actor named in the audit for an account change: an admin once one exists;
        before that anyone at the computer (the first accounts are made so)."""
        if not self.has_admin():
            return by.label if by is not None else UNIDENTIFIED
        if by is None or by.role is not Role.ADMIN:
            raise AuthError("managing staff accounts needs an admin (--admin NAME, with "
                            "the admin's PIN)")
        return by.label

    def add(self, name: str, role: Role, pin: str, by: StaffMember | None = None) -> None:
        name = name.strip()
        if not name or len(name) > 80 or not name.isprintable():
            raise AuthError(f"name {name!r}: 1 to 80 printable characters")
        check_pin(pin)
        actor = self.authorize_admin(by)
        pin_hash = _HASHER.hash(pin)
        with audit.transaction(self.path) as conn:
            if conn.execute("SELECT 1 FROM staff WHERE name = ?", (name,)).fetchone():
                raise AuthError(f"an account named {name!r} exists already")
            conn.execute("INSERT INTO staff (name, role, pin_hash, created_wall) VALUES"
                         " (?,?,?,?)", (name, str(role), pin_hash, self.clock()))
            audit.append(conn, actor, "staff-add", None, {"name": name, "role": str(role)})

    def disable(self, name: str, by: StaffMember | None = None) -> None:
        actor = self.authorize_admin(by)
        with audit.transaction(self.path) as conn:
            who = self._existing(conn, name)
            admins = [n for (n,) in conn.execute(
                "SELECT name FROM staff WHERE role = 'admin' AND disabled = 0")]
            if admins == [who]:  # else account management would be open to anyone again
                raise AuthError(f"{who} is the only admin: add another admin first")
            conn.execute("UPDATE staff SET disabled = 1 WHERE name = ?", (who,))
            audit.append(conn, actor, "staff-disable", None, {"name": who})

    def reset_pin(self, name: str, pin: str, by: StaffMember | None = None) -> None:
        """A new PIN; it also enables a disabled account and clears a lock."""
        check_pin(pin)
        actor = self.authorize_admin(by)
        pin_hash = _HASHER.hash(pin)
        with audit.transaction(self.path) as conn:
            who = self._existing(conn, name)
            conn.execute("UPDATE staff SET pin_hash = ?, disabled = 0, failed = 0,"
                         " locked_until = NULL WHERE name = ?", (pin_hash, who))
            audit.append(conn, actor, "staff-reset-pin", None, {"name": who})

    @staticmethod
    def _existing(conn: sqlite3.Connection, name: str) -> str:
        row = conn.execute("SELECT name FROM staff WHERE name = ?", (name.strip(),)).fetchone()
        if row is None:
            raise AuthError(f"no account named {name.strip()!r}")
        return str(row[0])


def _as_typed(name: str) -> tuple[str, str]:
    """How a refused name is audited, and shown. Names have letters; digits alone are most
    likely a PIN typed into the name field, which goes neither to the screen nor to the
    trail."""
    typed = name.strip()
    if not typed:
        return "(no name)", "(no name given)"
    if not any(c.isalpha() for c in typed):
        hidden = "(no letters: a PIN in the name field? not recorded)"
        return hidden, hidden
    return typed, repr(typed)


def _matches(pin_hash: str, pin: str) -> bool:
    try:
        return _HASHER.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False
