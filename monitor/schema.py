"""The session store's schema, as numbered migrations.

`PRAGMA user_version` holds the number of migrations applied; `PRAGMA application_id`
marks the file as Vigil's so that a foreign database is never mistaken for (or turned
into) a session store. Add a migration; never edit one that has shipped.
"""

from __future__ import annotations

APPLICATION_ID = 0x5669674C  # "VigL"
SAMPLE_VALIDATED, SAMPLE_IN_ALARM = 1, 2  # samples.flags bits (migration 3)
FLAGS_SINCE = 3  # the schema version that added samples.flags
WORST_T_SINCE = 4  # the schema version that added alarm_log.worst_t_s
STAFF_SINCE = 5  # the schema version that added the staff and audit tables
BEFORE_SIGN_IN = "nurse (before sign-in)"  # migration 5's name for what was authored "nurse"

# The device an alarm logged before alarm_log.source is about, read from its key as the
# engine wrote it ("rule:source", "condition:source:vital"; "vigil" and "session" are no
# device). Only for rows from before that column and read-only stores that predate it.
_REST = "substr(key, instr(key, ':') + 1)"
LEGACY_ALARM_SOURCE = (
    f"CASE WHEN instr(key, ':') = 0 THEN NULL ELSE nullif(nullif("
    f"CASE WHEN instr({_REST}, ':') > 0 THEN substr({_REST}, 1, instr({_REST}, ':') - 1)"
    f" ELSE {_REST} END, 'vigil'), 'session') END")
_ALARM_SOURCE = f"""
    ALTER TABLE alarm_log ADD COLUMN source TEXT;
    UPDATE alarm_log SET source = {LEGACY_ALARM_SOURCE} WHERE key IS NOT NULL;
    """

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions, devices, samples, waveforms, device events, timeline with edit history.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        uuid TEXT NOT NULL UNIQUE,
        patient TEXT,
        weight_kg REAL,
        drug TEXT,
        route TEXT,
        dose_mg REAL,
        infusion_min REAL,
        lot TEXT,
        preset TEXT,
        start_wall REAL NOT NULL,
        end_wall REAL,
        status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'interrupted')),
        owner_host TEXT,
        owner_pid INTEGER,
        owner_token TEXT
    );
    CREATE TABLE devices (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        source TEXT NOT NULL,
        spec TEXT NOT NULL,
        PRIMARY KEY (session_id, source)
    );
    CREATE TABLE samples (
        session_id INTEGER NOT NULL,
        t_s REAL NOT NULL,
        t_wall REAL NOT NULL,
        vital TEXT NOT NULL,
        value REAL NOT NULL,
        source TEXT NOT NULL
    );
    CREATE INDEX samples_by_time ON samples (session_id, t_s);
    CREATE TABLE waveforms (
        session_id INTEGER NOT NULL,
        t_s REAL NOT NULL,
        t_wall REAL NOT NULL,
        vital TEXT NOT NULL,
        rate_hz REAL NOT NULL,
        data BLOB NOT NULL,
        source TEXT NOT NULL
    );
    CREATE INDEX waveforms_by_time ON waveforms (session_id, vital, t_s);
    CREATE TABLE device_events (
        session_id INTEGER NOT NULL,
        t_s REAL NOT NULL,
        t_wall REAL NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        code TEXT NOT NULL,
        active INTEGER,
        vital TEXT,
        value REAL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX device_events_by_time ON device_events (session_id, t_s);
    CREATE TABLE timeline (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        kind TEXT NOT NULL,
        t_s REAL NOT NULL,
        t_wall REAL NOT NULL,
        data TEXT NOT NULL,
        author TEXT NOT NULL,
        created_wall REAL NOT NULL
    );
    CREATE TABLE timeline_revisions (
        id INTEGER PRIMARY KEY,
        entry_id INTEGER NOT NULL REFERENCES timeline(id),
        revised_wall REAL NOT NULL,
        author TEXT NOT NULL,
        t_s REAL NOT NULL,
        data TEXT NOT NULL
    );
    """,
    # 2: the alarm log, one row per alarm event as the engine emits it (IEC 60601-1-8 6.12).
    """
    CREATE TABLE alarm_log (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        t_s REAL NOT NULL,
        t_wall REAL NOT NULL,
        event TEXT NOT NULL,
        key TEXT,
        kind TEXT,
        priority INTEGER,
        vital TEXT,
        condition TEXT,
        message TEXT,
        state TEXT,
        onset_t_s REAL,
        signal_t_s REAL,
        worst_value REAL,
        limit_value REAL,
        acknowledged INTEGER,
        user TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX alarm_log_by_time ON alarm_log (session_id, t_s);
    """,
    # 3: what the device said about each sample (monitor.validity): bit 1 the device vouched
    # for the value (a measurement even outside the plausible range), bit 2 its own alarm
    # was on for it. Samples stored before have 0: unflagged, as they were judged then.
    """
    ALTER TABLE samples ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: when an alarm's worst value was seen (a latched alarm shows it).
    """
    ALTER TABLE alarm_log ADD COLUMN worst_t_s REAL;
    """,
    # 5: staff accounts (monitor/staff.py) and the hash-chained audit trail (monitor/audit.py).
    # What was recorded before sign-in existed was authored "nurse": it is kept, named so.
    """
    CREATE TABLE staff (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('nurse', 'clinician', 'admin')),
        pin_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        locked_until REAL,
        created_wall REAL NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        t_wall REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        session_id INTEGER,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_session ON audit (session_id, id);
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    UPDATE timeline SET author = 'nurse (before sign-in)' WHERE author = 'nurse';
    UPDATE timeline_revisions SET author = 'nurse (before sign-in)' WHERE author = 'nurse';
    UPDATE alarm_log SET user = 'nurse (before sign-in)' WHERE user = 'nurse';
    """,
    # 6: the HL7 outbox (monitor/hl7/outbox.py): every PCD-01/PCD-04 message built, in the
    # order it must be delivered, with its state; only its own tables, so it applies after
    # whatever 5 is.
    """
    CREATE TABLE hl7_outbox (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        channel TEXT NOT NULL CHECK (channel IN ('pcd01', 'pcd04')),
        control_id TEXT NOT NULL UNIQUE,
        t_wall REAL NOT NULL,
        message TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'accepted', 'error')),
        attempts INTEGER NOT NULL DEFAULT 0,
        ack_code TEXT,
        ack_text TEXT,
        done_wall REAL
    );
    CREATE INDEX hl7_outbox_queued ON hl7_outbox (channel, state, id);
    """,
    # 7: the device each alarm is about (None: Vigil's own or the session's), so that no
    # reader parses alarm keys; older rows get it from their key once, here. Only its own
    # column, so it applies after whatever 5 and 6 are.
    _ALARM_SOURCE,
)

SCHEMA_VERSION = len(MIGRATIONS)
ALARM_SOURCE_SINCE = MIGRATIONS.index(_ALARM_SOURCE) + 1  # the version with alarm_log.source
