"""Staff accounts and the audit trail, in-process on a real store (schema 5): argon2id
hashes, the lockout, disabled accounts, admin-only changes, the room screen's sign-in and
idle sign-out, a store from before sign-in, and a chain edited behind Vigil's back."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from monitor import audit
from monitor.schema import APPLICATION_ID, MIGRATIONS
from monitor.session import DoseProtocol, Patient
from monitor.signin import SignIn
from monitor.staff import (
    BEFORE_SIGN_IN,
    UNIDENTIFIED,
    UNIDENTIFIED_ROOM,
    AuthError,
    Role,
    StaffDirectory,
    StaffMember,
    parse_role,
    read_pin_file,
)
from monitor.store import SessionStore

ANN = StaffMember("Ann Lee", Role.NURSE)
ROOT = StaffMember("Root", Role.ADMIN)


class WallClock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "vigil.sqlite3"
    SessionStore(path).close()
    return path


def test_pins_are_kept_only_as_argon2id_hashes(store_path: Path) -> None:
    staff = StaffDirectory(store_path)
    staff.add("Ann Lee", Role.NURSE, "246810")
    conn = sqlite3.connect(store_path)
    (pin_hash,) = conn.execute("SELECT pin_hash FROM staff").fetchone()
    conn.close()
    assert pin_hash.startswith("$argon2id$") and "246810" not in pin_hash
    assert b"246810" not in store_path.read_bytes()
    assert staff.authenticate("ann lee", "246810", "test") == ANN  # names ignore case
    with pytest.raises(AuthError, match="at least 6 digits"):
        staff.add("Bob", Role.NURSE, "12345")
    with pytest.raises(AuthError, match="exists already"):
        staff.add("ANN LEE", Role.CLINICIAN, "135791")
    with pytest.raises(AuthError, match="unknown role 'doctor'"):
        parse_role("doctor")


def test_five_wrong_pins_lock_the_account_for_a_minute(store_path: Path) -> None:
    clock = WallClock()
    staff = StaffDirectory(store_path, clock)
    staff.add("Ann Lee", Role.NURSE, "246810")
    for left in (4, 3, 2, 1):
        with pytest.raises(AuthError, match=f"wrong PIN \\({left} more"):
            staff.authenticate("Ann Lee", "000000", "test")
    with pytest.raises(AuthError, match="locked for 60 s"):
        staff.authenticate("Ann Lee", "000000", "test")
    clock.t += 59
    with pytest.raises(AuthError, match="locked after 5 wrong PINs; try again in 2 s"):
        staff.authenticate("Ann Lee", "246810", "test")  # the right PIN: still locked
    clock.t += 2
    assert staff.authenticate("Ann Lee", "246810", "test") == ANN
    actions = [r.action for r in audit.rows(store_path)]
    assert actions == ["staff-add"] + ["pin-failed"] * 5 + ["locked-out", "sign-in-refused"]
    assert audit.verify(store_path) is None


def test_disabled_and_unknown_accounts_are_refused(store_path: Path) -> None:
    staff = StaffDirectory(store_path)
    staff.add("Ann Lee", Role.NURSE, "246810")
    staff.disable("Ann Lee")
    with pytest.raises(AuthError, match="disabled"):
        staff.authenticate("Ann Lee", "246810", "test")
    with pytest.raises(AuthError, match="no account named 'Zed'"):
        staff.authenticate("Zed", "246810", "test")
    staff.reset_pin("Ann Lee", "975310")  # enables it again
    assert staff.authenticate("Ann Lee", "975310", "test") == ANN


def test_a_pin_typed_into_the_name_field_is_neither_shown_nor_audited(store_path: Path
                                                                       ) -> None:
    staff = StaffDirectory(store_path)
    staff.add("Ann Lee", Role.NURSE, "246810")
    with pytest.raises(AuthError) as refused:
        staff.authenticate(" 246810 ", "", "room screen")
    assert "246810" not in str(refused.value) and "PIN in the name field" in str(refused.value)
    conn = sqlite3.connect(store_path)
    (dumped,) = conn.execute("SELECT group_concat(actor || detail) FROM audit").fetchone()
    conn.close()
    assert "246810" not in dumped and audit.rows(store_path)[-1].action == "sign-in-refused"


def test_once_an_admin_exists_only_an_admin_manages_accounts(store_path: Path) -> None:
    staff = StaffDirectory(store_path)
    staff.add("Ann Lee", Role.NURSE, "246810")  # no admin yet: anyone at the computer
    staff.add("Root", Role.ADMIN, "112233")
    for change in (lambda by: staff.add("Bob", Role.NURSE, "135791", by),
                   lambda by: staff.disable("Ann Lee", by),
                   lambda by: staff.reset_pin("Ann Lee", "999999", by)):
        with pytest.raises(AuthError, match="needs an admin"):
            change(None)
        with pytest.raises(AuthError, match="needs an admin"):
            change(ANN)
    staff.add("Bob", Role.NURSE, "135791", ROOT)
    with pytest.raises(AuthError, match="Root is the only admin"):
        staff.disable("Root", ROOT)
    rows = audit.rows(store_path)
    assert [(r.actor, r.action, r.detail["name"]) for r in rows] == [
        (UNIDENTIFIED, "staff-add", "Ann Lee"), (UNIDENTIFIED, "staff-add", "Root"),
        ("Root (admin)", "staff-add", "Bob")]


def test_pin_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("246810\n")
    pin.chmod(0o644)
    with pytest.raises(AuthError, match=r"readable or writable by others \(mode 0644\)"):
        read_pin_file(pin)
    pin.chmod(0o600)
    assert read_pin_file(pin) == "246810"
    with pytest.raises(AuthError, match="cannot read it"):
        read_pin_file(tmp_path / "missing")


def test_room_screen_names_who_acts_and_signs_out_when_idle(store_path: Path) -> None:
    mono = WallClock(100.0)
    room = SignIn(StaffDirectory(store_path), "room screen", idle_s=300.0, clock=mono)
    assert room.author() == UNIDENTIFIED  # no accounts: as before sign-in existed
    staff = StaffDirectory(store_path)
    staff.add("Ann Lee", Role.NURSE, "246810")
    staff.add("Dr Kim", Role.CLINICIAN, "135791")
    with pytest.raises(AuthError):
        room.sign_in("Ann Lee", "000000")
    assert room.author() == UNIDENTIFIED_ROOM  # accounts, nobody signed in
    room.sign_in("Ann Lee", "246810")
    assert room.author() == "Ann Lee (nurse)" and not room.is_clinician()
    with pytest.raises(AuthError, match="needs a clinician"):
        room.authorize("signing the discharge", "Ann Lee", "246810")
    assert room.authorize("signing the discharge", "Dr Kim", "135791").role is Role.CLINICIAN
    assert room.author() == "Ann Lee (nurse)"  # the step did not sign her out
    mono.t += 299
    room.touch()
    mono.t += 299
    assert not room.expire()
    mono.t += 1
    assert room.expire() and room.author() == UNIDENTIFIED_ROOM
    assert [(r.actor, r.action) for r in audit.rows(store_path)][2:] == [
        ("Ann Lee (nurse)", "pin-failed"), ("Ann Lee (nurse)", "sign-in"),
        ("Ann Lee (nurse)", "step-refused"), ("Dr Kim (clinician)", "step-authorized"),
        ("Ann Lee (nurse)", "sign-out")]
    assert audit.rows(store_path)[-1].detail == {"why": "no input for 5 min"}
    room.sign_in("Ann Lee", "246810")
    room.sign_in("Dr Kim", "135791")  # another signs in: she is signed out
    assert room.author() == "Dr Kim (clinician)" and room.is_clinician()
    assert [(r.actor, r.action, dict(r.detail)) for r in audit.rows(store_path)][-2:] == [
        ("Ann Lee (nurse)", "sign-out", {"why": "Dr Kim signed in"}),
        ("Dr Kim (clinician)", "sign-in", {})]


def _schema_4_store(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(";".join(MIGRATIONS[:4]) + f"; PRAGMA user_version = 4;"
                       f" PRAGMA application_id = {APPLICATION_ID};")
    conn.execute("INSERT INTO sessions (id, uuid, start_wall, status) VALUES"
                 " (1, 'u', 1.0, 'completed')")
    conn.execute("INSERT INTO timeline (session_id, kind, t_s, t_wall, data, author,"
                 " created_wall) VALUES (1, 'note', 5, 6, '{}', 'nurse', 7)")
    conn.execute("INSERT INTO alarm_log (session_id, t_s, t_wall, event, user) VALUES"
                 " (1, 5, 6, 'acknowledge', 'nurse')")
    conn.commit()
    conn.close()


def test_a_store_from_before_sign_in_is_migrated_and_keeps_its_entries(tmp_path: Path
                                                                        ) -> None:
    path = tmp_path / "old.sqlite3"
    _schema_4_store(path)
    with SessionStore(path, read_only=True) as store:  # exports never migrate, but name it
        assert store.schema_version == 4 and store.timeline(1)[0].author == BEFORE_SIGN_IN
        assert store.alarm_events(1)[0].user == BEFORE_SIGN_IN
    assert not StaffDirectory(path).any_accounts()
    with SessionStore(path) as store:
        (entry,) = store.timeline(1)
        assert entry.author == BEFORE_SIGN_IN
        assert store.alarm_events(1)[0].user == BEFORE_SIGN_IN
        sid = store.create_session(Patient(), DoseProtocol(), None, 10.0)
    assert sid == 2 and audit.verify(path) is None and audit.rows(path) == []


def test_an_audit_row_edited_with_sqlite3_is_found(store_path: Path) -> None:
    for i in range(4):
        audit.record(store_path, "Ann Lee (nurse)", "entry", 1, {"entry": i})
    conn = sqlite3.connect(store_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'Dr Kim (clinician)' WHERE id = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE id = 2")
    conn.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
    assert str(audit.verify(store_path)).startswith("the audit table: its append-only")
    conn.execute("UPDATE audit SET actor = 'Dr Kim (clinician)' WHERE id = 2")
    conn.commit()
    broken = audit.verify(store_path)
    assert broken is not None and broken.row_id == 2 and "contents were changed" in str(broken)
    conn.execute("UPDATE audit SET actor = 'Ann Lee (nurse)' WHERE id = 2")
    conn.execute("DELETE FROM audit WHERE id = 3")
    conn.commit()
    conn.close()
    broken = audit.verify(store_path)
    assert broken is not None and broken.row_id == 3 and "deleted" in str(broken)


def test_the_store_stays_private(store_path: Path) -> None:
    StaffDirectory(store_path).add("Ann Lee", Role.NURSE, "246810")
    assert os.stat(store_path).st_mode & 0o077 == 0
