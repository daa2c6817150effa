"""Vigil: the entry point and its command line.

    python main.py                      the dashboard on the simulator
    python main.py dashboard [--device SPEC ...] [--db PATH] [--kiosk] [--duration SECONDS]
                             [--speed N] [--no-dialog] [--no-watchdog] [--preset NAME]
                             [SESSION] [ROOM]
    python main.py record --device SPEC [--device SPEC ...] --duration SECONDS
                          [--speed N|max] [--db PATH] [--preset NAME] [SESSION] [ROOM]
    python main.py replay FILE [--speed N|max] [--db PATH] [--preset NAME]
    python main.py sessions [--db PATH]
    python main.py export [--db PATH] [--session ID|latest] --format csv|alarms|pdf|fhir|hl7
                          [--deidentify] [--clinic NAME] [--clinician NAME] [--nurse NAME]
                          --out FILE|-
    python main.py devices [--timeout S] [--adapter hciN] [--all]
    python main.py browse [--db PATH]
    python main.py staff [--db PATH] [--admin NAME] add --name NAME --role ROLE [--pin-file F]
    python main.py staff [--db PATH] [--admin NAME] list | disable NAME | reset-pin NAME
    python main.py audit [--db PATH] [--session ID] [--verify]
    python main.py board --broker URL [--broker-ca FILE] [--broker-user U]
                         [--broker-password-file F] [--insecure]
                         [--board-sound high,medium|high|none] [--kiosk]
    python main.py board --demo N [--board-sound ...]

SESSION (the same for both): [--patient ID] [--weight KG] [--drug NAME] [--route ROUTE]
[--dose-mg MG] [--infusion-min MIN] [--lot LOT].
HL7 (record and dashboard): [--hl7 mllp://HOST:PORT] [--hl7-period S] [--hl7-deidentify]
[--hl7-alerts mllp://HOST:PORT].
ROOM (record and dashboard: publish to the central station): --room NAME --broker URL
[--broker-ca FILE] [--broker-user NAME] [--broker-password-file FILE] [--insecure]
[--allow-remote-ack] [--central-patient none|initials]; the password from
$VIGIL_MQTT_PASSWORD or --broker-password-file, never the command line.

Exit status: 0 done, 1 the work failed (the message says why), 2 a bad argument or SPEC.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from alarms.model import AlarmEvent, AlarmEventKind
from alarms.presets import DEFAULT_PRESET, PRESET_NAMES
from devices.base import SpecError
from devices.spec import parse_spec
from monitor import staff_cli
from monitor.atomic import ExportError
from monitor.audit import AuditError
from monitor.central.config import BrokerConfigError, RoomConfig, add_room_arguments, room_config
from monitor.hl7.cli import FeedRun, add_hl7_options, hl7_config
from monitor.live import Freshness, Snapshot
from monitor.messages import DeviceStatus, Numerics, Waveform
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.session import (
    SIM_PATIENT,
    SIM_PROTOCOL,
    DoseProtocol,
    Patient,
    Route,
    SessionStatus,
)
from monitor.session_export import export_stored
from monitor.staff import AuthError
from monitor.store import SessionStore, StoreError, default_store_path
from monitor.timefmt import iso_utc

log = logging.getLogger("vigil")

EXPORT_FORMATS = ("csv", "alarms", "pdf", "fhir", "hl7")
# They never create or change a store (`export` and `audit` add only audit rows).
READ_ONLY_COMMANDS = ("sessions", "export", "browse", "audit")
DEVICE_HELP = ("sim[:SCENARIO], replay:FILE, masimo:PORT, nonin:PORT, contec:PORT, ble:ADDRESS, "
               "intellivue:PORT or datex:PORT; a serial PORT may end in @BAUD (repeatable)")


class _Terminated(Exception):
    """SIGTERM: the process was told to stop."""


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'max'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _dashboard_speed(text: str) -> float:
    """The dashboard shows session time as it passes: N times real time, never `max`."""
    if text == "max":
        raise argparse.ArgumentTypeError("the dashboard runs at N times real time, not 'max'")
    value = _speed(text)
    assert value is not None
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def session_fields(sp: argparse.ArgumentParser) -> None:
    """The session's patient and dose, the same for `record` and `dashboard` (the
    dashboard's new-session form starts from them)."""
    g = sp.add_argument_group("session (patient and dose)")
    g.add_argument("--patient", metavar="ID", help="patient id or initials")
    g.add_argument("--weight", type=_positive, metavar="KG", help="patient weight")
    g.add_argument("--drug", help="drug given, e.g. ketamine")
    g.add_argument("--route", choices=[r.value for r in Route])
    g.add_argument("--dose-mg", type=_positive, metavar="MG", help="the dose in mg")
    g.add_argument("--infusion-min", type=_positive, metavar="MIN",
                   help="planned infusion length (IV)")
    g.add_argument("--lot", help="lot number of the drug")


def session_of(args: argparse.Namespace) -> tuple[Patient, DoseProtocol]:
    return (Patient(args.patient, args.weight),
            DoseProtocol(args.drug, Route(args.route) if args.route else None, args.dose_mg,
                         args.infusion_min, args.lot))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vigil", description="In-session vital-signs monitor.")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command")

    def db(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--db", type=Path, default=None,
                        help=f"session store (default {default_store_path()})")

    def session_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--speed", type=_speed, default=1.0, metavar="N|max",
                        help="time acceleration for sim and replay devices (default 1)")
        db(sp)
        sp.add_argument("--preset", choices=PRESET_NAMES, default=DEFAULT_PRESET,
                        help=f"alarm preset (default {DEFAULT_PRESET})")
        sp.add_argument("--live", action="store_true", help="print live numerics each second")

    rec = sub.add_parser("record", help="record a session from devices")
    rec.add_argument("--device", action="append", required=True, metavar="SPEC",
                     help=DEVICE_HELP)
    rec.add_argument("--duration", type=_positive, required=True, metavar="SECONDS")
    session_opts(rec)
    session_fields(rec)
    add_hl7_options(rec, _positive)
    add_room_arguments(rec)

    rep = sub.add_parser("replay", help="record a session from a vitals CSV, its whole length")
    rep.add_argument("file", type=Path)
    session_opts(rep)

    dash = sub.add_parser("dashboard", help="the session-room dashboard (the default)")
    dash.add_argument("--device", action="append", metavar="SPEC",
                      help=f"{DEVICE_HELP}; default sim")
    db(dash)
    dash.add_argument("--kiosk", action="store_true", help="full screen, no window frame")
    dash.add_argument("--duration", type=_positive, default=8 * 3600.0, metavar="SECONDS",
                      help="session length (default 8 h)")
    dash.add_argument("--speed", type=_dashboard_speed, default=1.0, metavar="N",
                      help="time acceleration for sim and replay devices (default 1)")
    dash.add_argument("--no-watchdog", action="store_true",
                      help="no watchdog process (it sounds if Vigil stops responding)")
    # Tests shorten the failure signal; IEC 60601-1-8 asks for at least 120 s.
    dash.add_argument("--watchdog-min-sound", type=_positive, default=None,
                      help=argparse.SUPPRESS)
    dash.add_argument("--no-dialog", action="store_true",
                      help="record at once without the new-session and resume dialogs "
                      "(unattended displays); patient details then come from the options")
    dash.add_argument("--preset", choices=PRESET_NAMES, default=DEFAULT_PRESET,
                      help=f"alarm preset (default {DEFAULT_PRESET})")
    session_fields(dash)
    add_hl7_options(dash, _positive)
    dash.add_argument("--signout-after", type=_positive, default=10.0, metavar="MIN",
                      help="sign out whoever is signed in after MIN minutes without input "
                      "(default 10)")
    add_room_arguments(dash)

    ses = sub.add_parser("sessions", help="list the sessions in the store")
    db(ses)

    exp = sub.add_parser("export", help="export a session")
    db(exp)
    exp.add_argument("--session", default="latest", metavar="ID|latest")
    exp.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    exp.add_argument("--out", required=True, metavar="FILE|-")
    exp.add_argument("--deidentify", action="store_true",
                     help="replace the patient with a pseudonym, shift dates, drop free text")
    exp.add_argument("--clinic", help="clinic name printed on the report")
    exp.add_argument("--clinician", help="responsible clinician (else a blank line)")
    exp.add_argument("--nurse", help="monitoring nurse (else a blank line)")
    staff_cli.export_options(exp)  # staff sign-in (issue 14)
    add_devices_parser(sub)
    browse = sub.add_parser("browse", help="past sessions: list, open read-only, export")
    db(browse)
    browse.add_argument("--signout-after", type=_positive, default=10.0, metavar="MIN",
                        help="lock again after MIN minutes without input (default 10)")
    staff_cli.add_parsers(sub, db)  # staff accounts and the audit trail (issue 14)
    add_board_parser(sub)
    return p


def _open_store(path: Path | None, read_only: bool = False) -> SessionStore:
    return SessionStore(path or default_store_path(), read_only=read_only)


def _live_line(snap: Snapshot) -> str:
    r = snap.readings
    h, rem = divmod(int(snap.t_s), 3600)
    parts = [f"{h:d}:{rem // 60:02d}:{rem % 60:02d}"]
    for key, label in (("hr", "HR"), ("spo2", "SpO2"), ("pr", "PR"), ("rr", "RR")):
        reading = r[key]
        mark = {Freshness.STALE: "(stale)", Freshness.ARTEFACT: "(artefact)"}.get(
            reading.freshness, "")
        parts.append(f"{label} {reading.text()}{mark}")
    s, d, m = r["sbp"], r["dbp"], r["map"]
    if s.freshness is Freshness.CURRENT and d.freshness is Freshness.CURRENT:
        age = int((s.age_s or 0) // 60)
        parts.append(f"NIBP {s.text()}/{d.text()} ({m.text()}) {age} min ago")
    else:
        parts.append("NIBP ---/---")
    parts.append(" ".join(f"[{src}: {state}]" for src, state in snap.devices.items()))
    if snap.conditions:
        parts.append(" ".join(f"!{src}:{cond}" + (f"({vital})" if vital else "")
                              for src, cond, vital in snap.conditions))
    return "  ".join(parts)


def _print_alarm(ev: AlarmEvent) -> None:
    a = ev.alarm
    if a is None:
        print(f"alarm: {ev.event} at {ev.t_s:.1f} s", flush=True)
    elif ev.event in (AlarmEventKind.START, AlarmEventKind.ESCALATE, AlarmEventKind.PRIORITY,
                      AlarmEventKind.END):
        print(f"alarm: {ev.event} {a.message} ({a.kind}) at {ev.t_s:.1f} s", flush=True)


class _DataSeen:
    """Whether any device sent a value, and each device's last status (for the error)."""

    def __init__(self) -> None:
        self.values = False
        self.last_status: dict[str, str] = {}

    def __call__(self, msg: object) -> None:
        if isinstance(msg, Numerics | Waveform):
            self.values = True
        elif isinstance(msg, DeviceStatus) and msg.detail:
            self.last_status[msg.source] = msg.detail


def _room(args: argparse.Namespace, parser: argparse.ArgumentParser) -> RoomConfig | None:
    """The central-station options (exit 2 with the reason when they cannot be used)."""
    try:
        return room_config(args)
    except BrokerConfigError as e:
        parser.error(str(e))


def _run_recording(args: argparse.Namespace, plan: RecordingPlan,
                   room: RoomConfig | None = None) -> int:
    with _open_store(args.db) as store, FeedRun(hl7_config(args)) as hl7:
        seen = _DataSeen()
        recorder = SessionRecorder(store, plan, [seen], io=hl7.io)
        hl7.attach(recorder)
        if room is not None:
            from monitor.central.publisher import attach  # aiomqtt only for a room that publishes

            attach(recorder, room)
            print(f"vigil: publishing room {room.room} to {room.broker.url}", file=sys.stderr,
                  flush=True)
        if args.live:
            def show(t_s: float) -> None:
                print(_live_line(recorder.live.snapshot(t_s)), flush=True)
            recorder.add_ticker(1.0, show)
            recorder.alarms.add_listener(_print_alarm)
        print(f"vigil: recording session {recorder.session_id} to {store.path}",
              file=sys.stderr, flush=True)
        status = SessionStatus.COMPLETED
        try:
            recorder.start()
            result = recorder.runtime.wait()
            if not seen.values:  # no device ever sent a value: not a completed session
                status = SessionStatus.INTERRUPTED
            recorder.finish(result.end_t_s, status)
        except KeyboardInterrupt:  # Ctrl+C before the end: never "completed"
            recorder.stop(SessionStatus.INTERRUPTED)
            print(f"vigil: stopped by Ctrl+C; session {recorder.session_id} left interrupted "
                  "(the dashboard offers to resume it for 4 h)", file=sys.stderr)
            return 0
        except _Terminated:
            status = SessionStatus.INTERRUPTED
            recorder.stop(status)
            print("vigil: terminated; session marked interrupted", file=sys.stderr)
            return 1
        for error in result.errors:
            print(f"vigil: {error}", file=sys.stderr)
        if not seen.values:
            why = "; ".join(seen.last_status.get(d.source, f"{d.source}: never connected")
                            for d in recorder.drivers)
            print(f"vigil: error: no values recorded in {result.end_t_s:.0f} s: {why}; "
                  f"session {recorder.session_id} left interrupted with no values",
                  file=sys.stderr)
            return 1
        print(f"vigil: session {recorder.session_id} {status}: {result.end_t_s:.0f} s, "
              f"{recorder.messages} messages", file=sys.stderr)
        return 0


def cmd_record(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        specs = tuple(parse_spec(s) for s in args.device)
        plan = RecordingPlan(specs, args.duration, args.speed, *session_of(args), args.preset)
        plan.check()
    except SpecError as e:
        parser.error(str(e))
    return _run_recording(args, plan, _room(args, parser))


def cmd_replay(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        plan = RecordingPlan((parse_spec(f"replay:{args.file}"),), None, args.speed,
                             preset=args.preset)
        plan.check()
    except SpecError as e:
        parser.error(str(e))
    return _run_recording(args, plan)


def cmd_dashboard(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        specs = tuple(parse_spec(s) for s in (args.device or ["sim"]))
        patient, protocol = session_of(args)
        if args.no_dialog and all(s.scheme == "sim" for s in specs) and patient == Patient() \
                and protocol == DoseProtocol():
            patient, protocol = SIM_PATIENT, SIM_PROTOCOL  # the simulated patient, named
        plan = RecordingPlan(specs, args.duration, args.speed, patient, protocol, args.preset)
        plan.check()
    except SpecError as e:
        parser.error(str(e))
    room = _room(args, parser)
    from ui.app import run_dashboard  # Qt only here: the CLI commands never import it

    watchdog = None if args.no_watchdog else (
        [] if args.watchdog_min_sound is None
        else ["--min-sound", f"{args.watchdog_min_sound:g}"])
    return run_dashboard(args.db or default_store_path(), plan, kiosk=args.kiosk,
                         dialog=not args.no_dialog, watchdog=watchdog, hl7=hl7_config(args),
                         signout_after_s=args.signout_after * 60.0, central=room)


def cmd_browse(args: argparse.Namespace) -> int:
    path = args.db or default_store_path()
    _open_store(path, read_only=True).close()  # not a store: say so before any window
    from ui.browser import run_browser  # Qt only here, as for the dashboard

    return run_browser(path, args.signout_after * 60.0)


def cmd_sessions(args: argparse.Namespace) -> int:
    if args.db is None and not default_store_path().exists():
        print(f"vigil: no sessions yet (no store at {default_store_path()})", file=sys.stderr)
        return 0
    with _open_store(args.db, read_only=True) as store:  # listing never changes the store
        for s in store.list_sessions():
            end = iso_utc(s.end_wall, millis=False) if s.end_wall is not None else "-"
            print("\t".join((str(s.id), s.patient or "-", iso_utc(s.start_wall, millis=False),
                             end, str(s.status), str(s.sample_count))))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open_store(args.db, read_only=True) as store:  # an export never changes the store
        sid = store.resolve_session(args.session)
        try:  # with staff accounts: refused before any file is written
            who = staff_cli.export_identity(args, store.path, sid)
        except AuthError as e:
            print(f"vigil: export refused: {e}; no file written", file=sys.stderr)
            return 2
        # Recorded before any patient data leaves: an export the trail cannot name is not made.
        audited = (store.path, who, sid, args.format, args.deidentify, args.out == "-")
        try:
            staff_cli.audit_export(*audited)
        except AuditError as e:
            print(f"vigil: export refused: the audit trail cannot record it ({e}); no file "
                  "written", file=sys.stderr)
            return 1
        try:
            done = export_stored(store, sid, args.format, args.out,
                                 deidentify=args.deidentify, clinic=args.clinic,
                                 nurse=args.nurse,
                                 clinician=staff_cli.signing_clinician(who, args.clinician))
        except (StoreError, ExportError):
            staff_cli.audit_export(*audited, action="export-failed")
            raise
    if args.out != "-":
        print(f"vigil: session {done.session_id}: {done.what} written to {args.out}",
              file=sys.stderr)
    return 0


# --- devices: list nearby Bluetooth LE devices and serial ports ---------------------------

def add_devices_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = sub.add_parser("devices", help="list nearby Bluetooth devices and serial ports")
    dev.add_argument("--timeout", type=_positive, default=5.0, metavar="S",
                     help="how long to scan for Bluetooth devices (default 5)")
    dev.add_argument("--adapter", metavar="hciN", help="Bluetooth adapter (Linux; default: "
                     "the system's)")
    dev.add_argument("--all", action="store_true",
                     help="also list Bluetooth devices that advertise no vital-sign service")


def cmd_devices(args: argparse.Namespace) -> int:
    """Serial ports, then BLE devices; a computer without Bluetooth still gets its ports."""
    import asyncio

    from serial.tools import list_ports

    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    print(f"Serial ports ({len(ports)}):")
    for port in ports:
        print(f"  {port.device}\t{port.description or '-'}\t{port.hwid or '-'}")
    from devices.ble.scan import explain_unavailable, scan

    try:
        found = asyncio.run(scan(args.timeout, args.adapter))
    except Exception as e:  # no adapter, no D-Bus, no BlueZ: say so, the ports still count
        print(f"Bluetooth: unavailable: {explain_unavailable(e)}. Serial devices can still "
              "be used.")
        return 0
    shown = [d for d in found if d.readable or args.all]
    what = "Bluetooth LE devices" if args.all else "Bluetooth LE devices with vital-sign services"
    print(f"{what} ({len(shown)}); use --device ble:ADDRESS:")
    for d in shown:
        rssi = f"{d.rssi} dBm" if d.rssi is not None else "-"
        print(f"  {d.address}\t{d.name or '(no name)'}\t{rssi}\t"
              f"{', '.join(d.profiles) or '-'}")
    hidden = len(found) - len(shown)
    if hidden:
        print(f"  ({hidden} other Bluetooth device(s) advertise none; --all lists them. A "
              "paired cuff may not advertise its service: try ble:ADDRESS anyway.)")
    return 0


# The central station's board: every room on one screen.

BOARD_SOUNDS = {"high,medium": ("HIGH", "MEDIUM"), "medium,high": ("HIGH", "MEDIUM"),
                "high": ("HIGH",), "none": ()}


def _board_sound(text: str) -> tuple[str, ...]:
    try:
        return BOARD_SOUNDS[text.replace(" ", "").lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: say high,medium, high or none") from None


def _demo_rooms(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= n <= 32:
        raise argparse.ArgumentTypeError(f"{text!r}: the demo runs 1 to 32 rooms")
    return n


def add_board_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from monitor.central.config import add_broker_arguments

    board = sub.add_parser("board", help="the central station: every room on one screen")
    add_broker_arguments(board)
    board.add_argument("--board-sound", type=_board_sound, default=("HIGH", "MEDIUM"),
                       metavar="high,medium|high|none",
                       help="which rooms' alarm priorities the board sounds (default "
                       "high,medium); a room offline is MEDIUM")
    board.add_argument("--kiosk", action="store_true", help="full screen, no window frame")
    board.add_argument("--demo", type=_demo_rooms, metavar="N",
                       help="a private Mosquitto on loopback and N simulated rooms")


def cmd_board(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from alarms.model import Priority
    from monitor.central.config import BOARD_USER, BrokerConfigError, broker_config

    sound = frozenset(Priority[p] for p in args.board_sound)
    if args.demo is not None:
        if args.broker:
            parser.error("--demo starts its own broker: give --broker or --demo, not both")
        from monitor.central.demo import Demo, DemoError
        from ui.board.app import run_board

        try:
            with Demo(args.demo) as demo:
                print(f"vigil: demo broker {demo.url} with {args.demo} simulated rooms",
                      file=sys.stderr, flush=True)
                return run_board(demo.board_config, sound, demo.board_config.user,
                                 kiosk=args.kiosk, title="Vigil central station (demo)")
        except DemoError as e:
            print(f"vigil: error: {e}", file=sys.stderr)
            return 1
        except _Terminated:  # before the window: the demo is stopped all the same
            return 0
    try:
        config = broker_config(args, default_user=BOARD_USER)
    except BrokerConfigError as e:
        parser.error(str(e))
    if config is None:
        parser.error("the board needs --broker URL (or --demo N)")
    from ui.board.app import run_board  # Qt only here, as for the dashboard

    return run_board(config, sound, config.user, kiosk=args.kiosk)


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="vigil: %(levelname)s: %(name)s: %(message)s")
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    if args.command is None:
        args = parser.parse_args(["dashboard"])
    if args.command in READ_ONLY_COMMANDS and args.db is not None and not args.db.exists():
        # A mistyped --db: say so, and never create a store there.
        print(f"vigil: error: --db {args.db}: no session store there (check the path; "
              "`record` and `dashboard` create one)", file=sys.stderr)
        return 2
    try:
        if args.command == "record":
            return cmd_record(args, parser)
        if args.command == "replay":
            return cmd_replay(args, parser)
        if args.command == "dashboard":
            return cmd_dashboard(args, parser)
        if args.command == "sessions":
            return cmd_sessions(args)
        if args.command == "export":
            return cmd_export(args)
        if args.command == "devices":
            return cmd_devices(args)
        if args.command == "browse":
            return cmd_browse(args)
        if args.command == "staff":
            return staff_cli.cmd_staff(args, args.db or default_store_path())
        if args.command == "audit":
            return staff_cli.cmd_audit(args, args.db or default_store_path())
        if args.command == "board":
            return cmd_board(args, parser)
    except (StoreError, ExportError, AuditError) as e:
        print(f"vigil: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
