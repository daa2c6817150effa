"""Vigil: the entry point and its command line.

    python main.py                      the dashboard on the simulator
    python main.py record --device SPEC [--device SPEC ...] --duration SECONDS
                          [--speed N|max] [--db PATH] [--patient ID] [--preset NAME]
    python main.py replay FILE [--speed N|max] [--db PATH] [--preset NAME]
    python main.py sessions [--db PATH]
    python main.py export [--db PATH] [--session ID|latest] --format csv|alarms --out FILE|-

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
from monitor.atomic import ExportError, write_atomically
from monitor.export_alarms import write_alarms_csv
from monitor.export_csv import write_vitals_csv
from monitor.live import Freshness, Snapshot
from monitor.recorder import RecordingPlan, SessionRecorder
from monitor.session import DoseProtocol, Patient, Route, SessionStatus
from monitor.store import SessionStore, StoreError, default_store_path
from monitor.timefmt import iso_utc

log = logging.getLogger("vigil")

EXPORT_FORMATS = ("csv", "alarms")


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


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


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
                     help="sim[:SCENARIO] or replay:FILE (repeatable)")
    rec.add_argument("--duration", type=_positive, required=True, metavar="SECONDS")
    session_opts(rec)
    rec.add_argument("--patient", metavar="ID", help="patient id or initials")
    rec.add_argument("--weight", type=_positive, metavar="KG", help="patient weight")
    rec.add_argument("--drug", help="drug given, e.g. ketamine")
    rec.add_argument("--route", choices=[r.value for r in Route])
    rec.add_argument("--dose-mg", type=_positive, metavar="MG")

    rep = sub.add_parser("replay", help="record a session from a vitals CSV, its whole length")
    rep.add_argument("file", type=Path)
    session_opts(rep)

    ses = sub.add_parser("sessions", help="list the sessions in the store")
    db(ses)

    exp = sub.add_parser("export", help="export a session")
    db(exp)
    exp.add_argument("--session", default="latest", metavar="ID|latest")
    exp.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    exp.add_argument("--out", required=True, metavar="FILE|-")
    return p


def _open_store(path: Path | None) -> SessionStore:
    return SessionStore(path or default_store_path())


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
        parts.append(" ".join(f"!{src}:{cond}" for src, cond in snap.conditions))
    return "  ".join(parts)


def _print_alarm(ev: AlarmEvent) -> None:
    a = ev.alarm
    if a is None:
        print(f"alarm: {ev.event} at {ev.t_s:.1f} s", flush=True)
    elif ev.event in (AlarmEventKind.START, AlarmEventKind.ESCALATE, AlarmEventKind.END):
        print(f"alarm: {ev.event} {a.message} ({a.kind}) at {ev.t_s:.1f} s", flush=True)


def _run_recording(args: argparse.Namespace, plan: RecordingPlan) -> int:
    with _open_store(args.db) as store:
        recorder = SessionRecorder(store, plan)
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
            result = recorder.wait()
        except KeyboardInterrupt:
            recorder.stop(SessionStatus.COMPLETED)
            print("vigil: stopped by the user; session completed", file=sys.stderr)
            return 0
        except _Terminated:
            status = SessionStatus.INTERRUPTED
            recorder.stop(status)
            print("vigil: terminated; session marked interrupted", file=sys.stderr)
            return 1
        for error in result.errors:
            print(f"vigil: {error}", file=sys.stderr)
        print(f"vigil: session {recorder.session_id} {status}: {result.end_t_s:.0f} s, "
              f"{recorder.messages} messages", file=sys.stderr)
        return 0


def cmd_record(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        specs = tuple(parse_spec(s) for s in args.device)
        plan = RecordingPlan(
            specs, args.duration, args.speed, Patient(args.patient, args.weight),
            DoseProtocol(args.drug, Route(args.route) if args.route else None, args.dose_mg),
            args.preset)
        plan.check()
    except SpecError as e:
        parser.error(str(e))
    return _run_recording(args, plan)


def cmd_replay(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        plan = RecordingPlan((parse_spec(f"replay:{args.file}"),), None, args.speed,
                             preset=args.preset)
        plan.check()
    except SpecError as e:
        parser.error(str(e))
    return _run_recording(args, plan)


def cmd_sessions(args: argparse.Namespace) -> int:
    with _open_store(args.db) as store:
        for s in store.list_sessions():
            end = iso_utc(s.end_wall, millis=False) if s.end_wall is not None else "-"
            print("\t".join((str(s.id), s.patient or "-", iso_utc(s.start_wall, millis=False),
                             end, str(s.status), str(s.sample_count))))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _open_store(args.db) as store:
        sid = store.resolve_session(args.session)
        write = write_alarms_csv if args.format == "alarms" else write_vitals_csv
        rows = write_atomically(args.out, lambda f: write(store, sid, f))
    if args.out != "-":
        what = "alarm episodes" if args.format == "alarms" else "rows"
        print(f"vigil: session {sid}: {rows} {what} written to {args.out}", file=sys.stderr)
    return 0


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
        args = parser.parse_args(["record", "--device", "sim", "--duration", "7200", "--live"])
    try:
        if args.command == "record":
            return cmd_record(args, parser)
        if args.command == "replay":
            return cmd_replay(args, parser)
        if args.command == "sessions":
            return cmd_sessions(args)
        if args.command == "export":
            return cmd_export(args)
    except (StoreError, ExportError) as e:
        print(f"vigil: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
