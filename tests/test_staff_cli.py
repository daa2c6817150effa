"""`main.py staff`, `main.py audit` and `export --user` as a clinic runs them: real
processes, the PIN typed at a real terminal (a pty), PIN files, refusals with exit 2 and no
file written, and an audit trail edited with sqlite3 that `audit --verify` catches."""

from __future__ import annotations

import os
import pty
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor import audit
from monitor.messages import Numerics, TimelineMark
from monitor.session import DoseProtocol, Patient
from monitor.staff import AuthError, Role, StaffDirectory
from monitor.store import SessionStore

REPO = Path(__file__).resolve().parent.parent
W0 = 1_800_000_000.0


def vigil(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "VIGIL_PIN"} | (env or {})
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=full_env)


def pin_file(tmp_path: Path, pin: str, mode: int = 0o600, name: str = "pin") -> Path:
    path = tmp_path / name
    path.write_text(pin + "\n")
    path.chmod(mode)
    return path


def at_terminal(args: list[str], typed: list[str]) -> tuple[int, str]:
    """Runs main.py on a pty (its controlling terminal, as getpass needs) and types each
    line when the process asks; the exit status and everything it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its terminal
        os.execv(sys.executable, [sys.executable, str(REPO / "main.py"), *args])
    out = b""
    answered = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], deadline - time.monotonic())
        if not ready:  # it hangs: end it (the test then fails on what it wrote)
            os.kill(pid, 9)
            break
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal: it has ended
            break
        if not chunk:
            break
        out += chunk
        # Answer each prompt once it is shown: getpass flushes what was typed before it.
        if answered < len(typed) and out.count(b"PIN") > answered and out.endswith(b": "):
            os.write(fd, typed[answered].encode() + b"\n")
            answered += 1
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


@pytest.fixture
def clinic(tmp_path: Path) -> Path:
    """A store with one recorded session and three accounts, made the way the CLI does."""
    db = tmp_path / "vigil.sqlite3"
    with SessionStore(db) as store:
        sid = store.create_session(Patient("JD-4471", 70.0), DoseProtocol("ketamine"),
                                   "iv-ketamine", W0)
        w = store.writer(sid)
        for i in range(30):
            w.put(Numerics("sim", W0 + i, float(i), (("hr", 70.0 + i % 3), ("spo2", 97.0))))
        w.put(TimelineMark("Ann Lee (nurse)", W0 + 10, 10.0, "note", (("text", "ok"),)))
        assert w.flush()
        w.close()
        store.end_session(sid, store.load_session(sid).status.COMPLETED, W0 + 30)
    staff = StaffDirectory(db)
    staff.add("Ann Lee", Role.NURSE, "246810")
    staff.add("Dr Kim", Role.CLINICIAN, "135791")
    return db


def test_staff_add_reads_the_pin_twice_at_the_terminal(tmp_path: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    code, out = at_terminal(["staff", "--db", str(db), "add", "--name", "Ann Lee",
                             "--role", "nurse"], ["246810", "246810"])
    assert code == 0, out
    assert "246810" not in out  # never echoed
    assert out.count("PIN") == 2 and "account 'Ann Lee' (nurse) added" in out
    code, out = at_terminal(["staff", "--db", str(db), "add", "--name", "Bob",
                             "--role", "nurse"], ["135791", "135790"])
    assert code == 2 and "the two PINs differ; nothing changed" in out
    listed = vigil("staff", "--db", str(db), "list")
    assert listed.returncode == 0
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["Ann Lee", "nurse", "active"]]


def test_staff_refusals_exit_2_and_change_nothing(tmp_path: Path) -> None:
    db = tmp_path / "vigil.sqlite3"
    good = pin_file(tmp_path, "112233")
    loose = pin_file(tmp_path, "112233", 0o644, "loose")
    r = vigil("staff", "--db", str(db), "add", "--name", "X", "--role", "doctor",
              "--pin-file", str(good))
    assert r.returncode == 2 and "unknown role 'doctor'" in r.stderr
    r = vigil("staff", "--db", str(db), "add", "--name", "X", "--role", "nurse",
              "--pin-file", str(loose))
    assert r.returncode == 2 and f"--pin-file {loose}: readable or writable by others" \
        in r.stderr
    assert vigil("staff", "--db", str(db), "add", "--name", "Root", "--role", "admin",
                 "--pin-file", str(good)).returncode == 0
    r = vigil("staff", "--db", str(db), "add", "--name", "X", "--role", "nurse",
              "--pin-file", str(good))
    assert r.returncode == 2 and "needs an admin" in r.stderr
    r = vigil("staff", "--db", str(db), "--admin", "Root", "disable", "Root",
              env={"VIGIL_PIN": "999999"})
    assert r.returncode == 2 and "Root: wrong PIN" in r.stderr
    r = vigil("staff", "--db", str(db), "--admin", "Root", "add", "--name", "X", "--role",
              "clinician", "--pin-file", str(good), env={"VIGIL_PIN": "112233"})
    assert r.returncode == 0, r.stderr
    assert [a.name for a in StaffDirectory(db).accounts()] == ["Root", "X"]
    assert [(row.actor, row.action) for row in audit.rows(db)] == [
        ("unidentified staff", "staff-add"), ("Root (admin)", "pin-failed"),
        ("Root (admin)", "staff-add")]


def test_export_needs_valid_credentials_once_accounts_exist(clinic: Path, tmp_path: Path
                                                            ) -> None:
    out = tmp_path / "vitals.csv"
    base = ("export", "--db", str(clinic), "--session", "1", "--format", "csv",
            "--out", str(out))
    r = vigil(*base)
    assert r.returncode == 2 and "export needs --user NAME" in r.stderr
    assert "no file written" in r.stderr and not out.exists()
    r = vigil(*base, "--user", "Ann Lee", env={"VIGIL_PIN": "000000"})
    assert r.returncode == 2 and "Ann Lee: wrong PIN" in r.stderr and not out.exists()
    r = vigil(*base, "--user", "Ann Lee", "--pin-file",
              str(pin_file(tmp_path, "246810", 0o640)))
    assert r.returncode == 2 and "readable or writable by others" in r.stderr
    assert not out.exists()
    staff = StaffDirectory(clinic)
    for _ in range(5):  # five wrong PINs (anywhere) lock the account for a minute
        with pytest.raises(AuthError):
            staff.authenticate("Ann Lee", "999999", "room screen")
    r = vigil(*base, "--user", "Ann Lee", env={"VIGIL_PIN": "246810"})
    assert r.returncode == 2 and "locked after 5 wrong PINs" in r.stderr and not out.exists()
    staff.disable("Ann Lee")
    r = vigil(*base, "--user", "Ann Lee", env={"VIGIL_PIN": "246810"})
    assert r.returncode == 2 and "disabled" in r.stderr and not out.exists()
    r = vigil(*base, "--user", "Dr Kim", "--deidentify",
              "--pin-file", str(pin_file(tmp_path, "135791")))
    assert r.returncode == 0, r.stderr
    assert out.read_text().count("\n") == 61  # the header and 30 s of HR and SpO2
    last = audit.rows(clinic)[-1]
    assert (last.actor, last.action, last.session_id, dict(last.detail)) == (
        "Dr Kim (clinician)", "export", 1,
        {"format": "csv", "deidentified": True, "to": "file"})


def test_the_pdf_names_the_signed_in_clinician_on_the_signature_line(clinic: Path,
                                                                      tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    r = vigil("export", "--db", str(clinic), "--format", "pdf", "--out", str(out),
              "--user", "Dr Kim", env={"VIGIL_PIN": "135791"})
    assert r.returncode == 0, r.stderr
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True, check=True).stdout
    sign = [line for line in text.splitlines() if "Clinician" in line and "Signature" in line]
    assert sign and "Dr Kim" in sign[-1]
    note = [line for line in text.splitlines() if "note" in line and "ok" in line]
    assert note and "Ann Lee (nurse)" in note[0]  # who made the entry


def test_audit_verify_finds_a_row_edited_with_sqlite3(clinic: Path) -> None:
    r = vigil("audit", "--db", str(clinic), "--verify")
    assert r.returncode == 0 and "audit trail intact: 2 rows" in r.stderr
    audit.record(clinic, "Dr Kim (clinician)", "session-open", 1)
    shown = vigil("audit", "--db", str(clinic), "--session", "1").stdout.splitlines()
    assert [line.split("\t")[2:5] for line in shown] == [
        ["Dr Kim (clinician)", "session-open", "1"]]
    conn = sqlite3.connect(clinic)
    conn.executescript("DROP TRIGGER audit_no_update;"
                       "UPDATE audit SET actor = 'Ann Lee (nurse)' WHERE id = 3;")
    conn.close()
    r = vigil("audit", "--db", str(clinic), "--verify")
    assert r.returncode == 1
    assert "audit trail ALTERED: audit row 3: its contents were changed" in r.stderr


def test_an_export_the_audit_trail_cannot_record_is_not_made(clinic: Path, tmp_path: Path
                                                             ) -> None:
    out = tmp_path / "vitals.csv"
    base = ("export", "--db", str(clinic), "--session", "1", "--format", "csv",
            "--user", "Dr Kim", "--pin-file", str(pin_file(tmp_path, "135791")))
    conn = sqlite3.connect(clinic)  # a store whose audit trail refuses every new row
    conn.execute("CREATE TRIGGER audit_broken BEFORE INSERT ON audit"
                 " BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    conn.commit()
    for target in (str(out), "-"):
        r = vigil(*base, "--out", target)
        assert r.returncode == 1 and "the audit trail cannot record it" in r.stderr
        assert "disk says no" in r.stderr and "no file written" in r.stderr
        assert r.stdout == "" and not out.exists()
    conn.execute("DROP TRIGGER audit_broken")
    conn.commit()
    conn.close()
    before = len(audit.rows(clinic))
    r = vigil(*base, "--out", str(tmp_path / "no such folder" / "vitals.csv"))
    assert r.returncode == 1 and "no such folder" in r.stderr
    assert [(x.action, dict(x.detail)["format"]) for x in audit.rows(clinic)[before:]] == [
        ("export", "csv"), ("export-failed", "csv")]
