"""The command line of staff accounts and the audit trail (`main.py staff`, `main.py
audit`), and the credentials `export` asks for once accounts exist.

PINs come from the terminal (getpass, never echoed), from a file only its owner can read
(`--pin-file`), or, for `export` and an admin's approval, from the `VIGIL_PIN` environment
variable. A refusal is exit status 2 with a message naming what was wrong.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from monitor import audit
from monitor.staff import (
    UNIDENTIFIED,
    AuthError,
    Role,
    StaffDirectory,
    StaffMember,
    check_pin,
    parse_role,
    read_pin_file,
)
from monitor.store import SessionStore
from monitor.timefmt import iso_utc

PIN_ENV = "VIGIL_PIN"

Ask = Callable[[str], str]

log = logging.getLogger(__name__)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                db: Callable[[argparse.ArgumentParser], None]) -> None:
    st = sub.add_parser("staff", help="staff accounts: add, list, disable, reset-pin")
    db(st)
    st.add_argument("--admin", metavar="NAME",
                    help=f"the admin approving the change (once an admin exists); their PIN "
                    f"from {PIN_ENV} or asked at the terminal")
    ops = st.add_subparsers(dest="staff_command", required=True)
    add = ops.add_parser("add", help="a new account")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, metavar="nurse|clinician|admin")
    add.add_argument("--pin-file", type=Path, metavar="FILE",
                     help="the PIN's file (mode 0600); else asked twice at the terminal")
    ops.add_parser("list", help="the accounts and their state")
    dis = ops.add_parser("disable", help="stop an account signing in")
    dis.add_argument("name", metavar="NAME")
    rst = ops.add_parser("reset-pin", help="a new PIN (also enables and unlocks)")
    rst.add_argument("name", metavar="NAME")
    rst.add_argument("--pin-file", type=Path, metavar="FILE")
    au = sub.add_parser("audit", help="the audit trail: who did what, and --verify")
    db(au)
    au.add_argument("--session", type=int, metavar="ID", help="only this session's rows")
    au.add_argument("--verify", action="store_true",
                    help="check the hash chain; exit 1 naming the first altered row")


def export_options(exp: argparse.ArgumentParser) -> None:
    exp.add_argument("--user", metavar="NAME",
                     help=f"who exports (needed once staff accounts exist); the PIN from "
                     f"{PIN_ENV} or --pin-file")
    exp.add_argument("--pin-file", type=Path, metavar="FILE", help="the PIN's file (0600)")


def _new_pin(pin_file: Path | None, ask: Ask) -> str:
    if pin_file is not None:
        return check_pin(read_pin_file(pin_file))
    first = ask("New PIN (at least 6 digits): ")
    check_pin(first)
    if ask("The same PIN again: ") != first:
        raise AuthError("the two PINs differ; nothing changed")
    return first


def _pin_of(name: str, pin_file: Path | None, ask: Ask | None) -> str:
    if pin_file is not None:
        return read_pin_file(pin_file)
    env = os.environ.get(PIN_ENV)
    if env is not None:
        return env
    if ask is None:
        raise AuthError(f"no PIN for {name!r}: set {PIN_ENV} or give --pin-file FILE")
    return ask(f"PIN of {name}: ")


def cmd_staff(args: argparse.Namespace, path: Path, ask: Ask = getpass.getpass) -> int:
    SessionStore(path).close()  # created or migrated to a schema with accounts
    directory = StaffDirectory(path)
    try:
        role = parse_role(args.role) if args.staff_command == "add" else None
        if args.staff_command == "list":
            for a in directory.accounts():
                state = "disabled" if a.disabled else (
                    "locked" if a.locked_until and a.locked_until > directory.clock()
                    else "active")
                print("\t".join((a.name, str(a.role), state,
                                 iso_utc(a.created_wall, millis=False))))
            return 0
        by = None
        if args.admin is not None:
            by = directory.authenticate(args.admin, _pin_of(args.admin, None, ask),
                                        "command line")
        elif directory.has_admin():
            raise AuthError("managing staff accounts needs an admin: --admin NAME (the PIN "
                            f"from {PIN_ENV} or asked at the terminal)")
        if args.staff_command == "add":
            assert role is not None
            directory.authorize_admin(by)  # refuse before asking for the new PIN
            directory.add(args.name, role, _new_pin(args.pin_file, ask), by)
            print(f"vigil: account {args.name.strip()!r} ({role}) added", file=sys.stderr)
        elif args.staff_command == "disable":
            directory.disable(args.name, by)
            print(f"vigil: account {args.name!r} disabled", file=sys.stderr)
        elif args.staff_command == "reset-pin":
            directory.authorize_admin(by)
            directory.reset_pin(args.name, _new_pin(args.pin_file, ask), by)
            print(f"vigil: PIN of {args.name!r} reset", file=sys.stderr)
    except AuthError as e:
        print(f"vigil: refused: {e}", file=sys.stderr)
        return 2
    except (EOFError, KeyboardInterrupt):
        print("vigil: refused: no PIN given; nothing changed", file=sys.stderr)
        return 2
    return 0


def cmd_audit(args: argparse.Namespace, path: Path) -> int:
    if not audit.has_audit(path):
        print(f"vigil: {path}: no audit trail yet (a store from before it; Vigil adds it the "
              "next time it records)", file=sys.stderr)
        return 0
    if args.verify:
        broken = audit.verify(path)
        if broken is not None:
            print(f"vigil: audit trail ALTERED: {broken}", file=sys.stderr)
            return 1
        print(f"vigil: audit trail intact: {len(audit.rows(path))} rows chained",
              file=sys.stderr)
        return 0
    for r in audit.rows(path, args.session):
        detail = ", ".join(f"{k}={v}" for k, v in r.detail.items())
        print("\t".join((str(r.id), iso_utc(r.t_wall, millis=False), r.actor, r.action,
                         "-" if r.session_id is None else str(r.session_id), detail or "-")))
    return 0


def export_identity(args: argparse.Namespace, path: Path, session_id: int
                    ) -> StaffMember | None:
    """Who exports. None when the store has no accounts (Vigil as before); AuthError when
    accounts exist and the credentials are missing or wrong."""
    directory = StaffDirectory(path)
    if not directory.any_accounts():
        return None
    if args.user is None:
        raise AuthError("staff accounts exist: export needs --user NAME, with the PIN in "
                        f"{PIN_ENV} or --pin-file FILE")
    return directory.authenticate(args.user, _pin_of(args.user, args.pin_file, None),
                                  "export", session_id)


def audit_export(path: Path, who: StaffMember | None, session_id: int, fmt: str,
                 deidentified: bool, to_stdout: bool, action: str = "export") -> None:
    """The export's audit row, written before the export (none in a store from before the
    audit trail). Once accounts exist (`who` signed in), AuditError if it cannot be written:
    no export goes unrecorded. With no accounts Vigil exports as before sign-in existed, from
    a store on a full or read-only disk too: the row is written if it can be, else logged.
    "export-failed", after an export that failed, is written if it can be."""
    if not audit.has_audit(path):
        return
    try:
        audit.record(path, who.label if who is not None else UNIDENTIFIED, action,
                     session_id, {"format": fmt, "deidentified": deidentified,
                                  "to": "stdout" if to_stdout else "file"})
    except audit.AuditError as e:
        if action == "export" and who is not None:
            raise
        log.warning("export of session %d not in the audit trail: %s", session_id, e)


def signing_clinician(who: StaffMember | None, given: str | None) -> str | None:
    """The name on the report's clinician line: as given, else the exporting clinician."""
    if given is not None:
        return given
    return who.name if who is not None and who.role is Role.CLINICIAN else None
