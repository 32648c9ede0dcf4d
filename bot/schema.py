"""The database schema as numbered migrations, applied at start-up and recorded in the database.
Never edit a migration that has shipped: add the next number."""
from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATIONS = Migrations("xiaowei")


@MIGRATIONS(name="0001_messages_outbox_alerts")
def m0001(db: Database) -> None:
    # Every inbound message, committed before WeCom is told it was received.
    db.execute("""
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            channel TEXT NOT NULL,              -- aibot | app | bridge
            msgid TEXT NOT NULL,
            chat_id TEXT,
            chattype TEXT NOT NULL,             -- group | single
            village TEXT,
            sender TEXT NOT NULL,
            sender_name TEXT,
            text TEXT NOT NULL,
            mentions_bot INTEGER NOT NULL DEFAULT 1,
            response_url TEXT,
            received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new', -- new | done | failed | unrouted
            handler TEXT,
            handled_at TEXT,
            error TEXT,
            UNIQUE (channel, msgid)
        )""")
    db.execute("CREATE INDEX messages_status ON messages (status)")
    db.execute("CREATE INDEX messages_village_time ON messages (village, received_at)")
    # Every outbound message; a row leaves 'pending' only when WeCom accepted it (or it is given up, loudly).
    db.execute("""
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                 -- robot | app | response
            target TEXT NOT NULL,               -- robot key | touser | response_url
            lane TEXT NOT NULL,                 -- ordering and rate-limit unit
            payload TEXT NOT NULL,
            dedupe TEXT UNIQUE,
            created_at TEXT NOT NULL,
            not_before TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending', -- pending | sent | dead
            sent_at TEXT,
            last_error TEXT
        )""")
    db.execute("CREATE INDEX outbox_pending ON outbox (status, lane, id)")
    db.execute("CREATE INDEX outbox_lane_sent ON outbox (lane, sent_at)")
    db.execute("""
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")


@MIGRATIONS(name="0002_cases_events")
def m0002(db: Database) -> None:
    # A case's intake facts; written once. Everything that happens to it afterwards is an event.
    db.execute("""
        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            number TEXT NOT NULL UNIQUE,        -- what a villager types: digits; reports (clues) start with J
            message_id INTEGER UNIQUE REFERENCES messages(id),
            town TEXT NOT NULL,
            village TEXT NOT NULL,
            kind TEXT NOT NULL,                 -- kind at intake; re-labels are events
            confidence REAL,
            text TEXT NOT NULL,
            requester TEXT NOT NULL,            -- platform id, never shown in public
            chat_id TEXT,
            received_at TEXT NOT NULL
        )""")
    # Append-only history, hash-chained across all cases so that an edit, a deletion or a reordering shows.
    db.execute("""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            detail TEXT NOT NULL,               -- JSON
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        )""")
    db.execute("CREATE INDEX events_case ON events (case_id, id)")
    for table in ("cases", "events"):
        for op in ("UPDATE", "DELETE"):
            db.execute(f"""CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table}
                           BEGIN SELECT RAISE(ABORT, '{table} are append-only: add a correcting event'); END""")
    # The current state of each case, folded from its events in the same transaction; rebuildable, not history.
    db.execute("""
        CREATE TABLE case_state (
            case_id INTEGER PRIMARY KEY REFERENCES cases(id),
            kind TEXT NOT NULL,
            status TEXT NOT NULL,               -- unconfirmed | open | answered | closed | dismissed
            level TEXT NOT NULL,                -- village | town | county
            due_at TEXT NOT NULL,
            escalate_by TEXT,                   -- set when the village marked it beyond itself
            assignee TEXT,
            first_response_at TEXT,
            answered_at TEXT,
            rating TEXT,
            supervised INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX case_state_status ON case_state (status, due_at)")
    # Cadres' re-labels, for `xiaowei train`.
    db.execute("""
        CREATE TABLE corrections (
            id INTEGER PRIMARY KEY,
            case_id INTEGER REFERENCES cases(id),
            text TEXT NOT NULL,
            old_label TEXT NOT NULL,
            label TEXT NOT NULL,
            actor TEXT NOT NULL,
            at TEXT NOT NULL
        )""")


@MIGRATIONS(name="0003_duty_roster")
def m0003(db: Database) -> None:
    # Explicit duty days win; otherwise a village's rotation repeats day after day from its start date.
    db.execute("""
        CREATE TABLE duty_roster (
            id INTEGER PRIMARY KEY,
            village TEXT NOT NULL,
            day TEXT NOT NULL,
            userid TEXT NOT NULL,
            UNIQUE (village, day, userid)
        )""")
    db.execute("""
        CREATE TABLE duty_rotation (
            id INTEGER PRIMARY KEY,
            village TEXT NOT NULL,
            start_day TEXT NOT NULL,
            position INTEGER NOT NULL,
            userid TEXT NOT NULL,
            UNIQUE (village, position)
        )""")


@MIGRATIONS(name="0004_daily_routine")
def m0004(db: Database) -> None:
    # One row per job, target (village or town) and day, written in the same transaction as the job's outbox rows:
    # a restart, a second instance or a catch-up run finds the row and sends nothing twice.
    db.execute("""
        CREATE TABLE job_runs (
            id INTEGER PRIMARY KEY,
            job TEXT NOT NULL,
            target TEXT NOT NULL,
            day TEXT NOT NULL,
            ran_at TEXT NOT NULL,
            UNIQUE (job, target, day)
        )""")
    # The 正能量 pool the township fills; `key` keeps a file's item from being added twice.
    db.execute("""
        CREATE TABLE news (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE news_posts (
            id INTEGER PRIMARY KEY,
            news_id INTEGER NOT NULL REFERENCES news(id),
            village TEXT NOT NULL,
            day TEXT NOT NULL,
            posted_at TEXT NOT NULL,
            UNIQUE (news_id, village),
            UNIQUE (village, day)
        )""")
    # Deadline reminders: at most one per case, rung and day, whoever runs the job.
    db.execute("""
        CREATE TABLE nags (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id),
            rung TEXT NOT NULL,                 -- duty | secretary | leader | inspectors
            day TEXT NOT NULL,
            userids TEXT NOT NULL,              -- JSON list of who was pressed
            at TEXT NOT NULL,
            UNIQUE (case_id, rung, day)
        )""")


@MIGRATIONS(name="0005_audit_chain")
def m0005(db: Database) -> None:
    # One entry per recorded fact (bot/ledger.py FACTS), written in the fact's own transaction: `digest` is the
    # fact's columns as SQLite renders them, `hash` an HMAC-SHA256 over (prev_hash, tbl, row_id, digest) whose
    # key is never stored here, so a rewrite of this database alone cannot re-seal the chain.
    db.execute("""
        CREATE TABLE ledger (
            id INTEGER PRIMARY KEY,
            tbl TEXT NOT NULL,
            row_id INTEGER NOT NULL,
            digest TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""CREATE TRIGGER ledger_no_{op.lower()} BEFORE {op} ON ledger
                       BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END""")
    # How far each table went before the ledger existed: the first start with the key seals those rows once, as
    # they stand (the migration itself has no key). Rows past these ids were never adopted and must be sealed.
    db.execute("CREATE TABLE ledger_baseline (tbl TEXT PRIMARY KEY, last_id INTEGER NOT NULL)")
    for table in ("messages", "cases", "events", "outbox", "nags", "corrections", "job_runs"):
        where = " WHERE status = 'sent'" if table == "outbox" else ""
        db.execute(f"INSERT INTO ledger_baseline SELECT '{table}', COALESCE(MAX(id), 0) FROM {table}{where}")


@MIGRATIONS(name="0006_outbox_parking")
def m0006(db: Database) -> None:
    # A row WeCom refuses for good, or that failed for days, is 'parked': kept, listed and resent by hand
    # (`xiaowei outbox retry`), never dropped. Rows given up before this migration stay 'dead' and read the same.
    # first_failed_at starts the retry window of the current run of failures; a retry by hand clears it.
    # A reply to a single-use response_url is 'sending' while its call is in flight: one found so at start-up
    # may have been accepted, so it is never posted there again but goes to its fallback (the village group,
    # or the member privately) and the response row becomes 'rerouted'.
    for column in ("first_error", "first_failed_at", "parked_at", "fallback_kind", "fallback_target"):
        db.execute(f"ALTER TABLE outbox ADD COLUMN {column} TEXT")
    # The sender's "when is the next row due" and "what is in flight" look-ups, without scanning sent rows.
    db.execute("CREATE INDEX outbox_due ON outbox (status, not_before)")


@MIGRATIONS(name="0007_clue_numbers", transactional=False)
def m0007(db: Database) -> None:
    # Clues get their own numbers per town and year (J2026-007); requests keep one county-wide sequence. The
    # counters make a number without scanning the cases; an existing database continues where it stood.
    # A clue number is unique within its town, not across the county: UNIQUE (town, number) instead of (number),
    # which means rebuilding `cases` the way sqlite-utils' transform does. SQLite's own recipe for that turns
    # foreign keys off outside any transaction (events and case_state point at cases), so this migration runs
    # its one transaction itself, checks the keys before committing, and is safe to run again if the process
    # died between that commit and the record of it.
    if db["counters"].exists():
        return
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
            db.execute("INSERT INTO counters (name, value) SELECT 'request', "
                       "COALESCE(MAX(CAST(number AS INTEGER)), 100) - 100 FROM cases WHERE number NOT LIKE 'J%'")
            steps = db["cases"].transform_sql()
            steps[0] = steps[0].replace('"number" TEXT NOT NULL UNIQUE', '"number" TEXT NOT NULL') \
                .replace("\n);", ',\n   UNIQUE ("town", "number")\n);')
            assert 'UNIQUE ("town", "number")' in steps[0], steps[0]
            for op in ("update", "delete"):
                db.execute(f"DROP TRIGGER cases_no_{op}")
            for step in steps:
                db.execute(step)
            for op in ("UPDATE", "DELETE"):
                db.execute(f"""CREATE TRIGGER cases_no_{op.lower()} BEFORE {op} ON cases
                               BEGIN SELECT RAISE(ABORT, 'cases are append-only: add a correcting event'); END""")
            for column in ("village", "town", "requester"):
                db.execute(f"CREATE INDEX cases_{column} ON cases ({column})")
            broken = db.execute("PRAGMA foreign_key_check").fetchall()
            assert not broken, broken
    finally:
        db.execute("PRAGMA foreign_keys = ON")


@MIGRATIONS(name="0008_chat_archive")
def m0008(db: Database) -> None:
    # How far the chat archive has been read: one row, advanced in the same transaction as the messages it
    # covered, so a crash re-reads a page (folded by msgid) and never skips one.
    db.execute("""
        CREATE TABLE archive_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            pulled_at TEXT NOT NULL
        )""")
    # A resident's withdrawal of a stored message; the message itself stays as it was said.
    db.execute("""
        CREATE TABLE archive_recalls (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id),
            recall_msgid TEXT NOT NULL,
            recalled_at TEXT NOT NULL,
            case_noted INTEGER NOT NULL DEFAULT 0   -- 1 once the case opened from the message has its event
        )""")
    # Pictures, voice, files, stickers…: counted for group activity, never stored.
    db.execute("""
        CREATE TABLE archive_activity (
            village TEXT NOT NULL,
            day TEXT NOT NULL,
            msgtype TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (village, day, msgtype)
        )""")


@MIGRATIONS(name="0009_morning_indexes")
def m0009(db: Database) -> None:
    # The morning jobs read the whole county in one pass per count instead of one query per village; these let
    # each pass touch only the rows it counts. Clues by kind (every outbound message is checked against them);
    # the last day's and week's intake; the last week's answers.
    db.execute("CREATE INDEX cases_kind ON cases (kind)")
    db.execute("CREATE INDEX case_state_kind ON case_state (kind)")
    db.execute("CREATE INDEX cases_received ON cases (received_at)")
    db.execute("CREATE INDEX case_state_answered ON case_state (status, answered_at)")


@MIGRATIONS(name="0010_group_kinds")
def m0010(db: Database) -> None:
    # Customer groups take no post without their owner's tap: the morning's posts (duty notice, the day's positive
    # item) wait here for the day's one group send, which records its WeCom msgid and how it went.
    db.execute("""
        CREATE TABLE group_posts (
            id INTEGER PRIMARY KEY,
            village TEXT NOT NULL,
            day TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX group_posts_day ON group_posts (day, village)")
    db.execute("""
        CREATE TABLE group_sends (
            id INTEGER PRIMARY KEY,
            village TEXT NOT NULL,
            day TEXT NOT NULL,
            outbox_id INTEGER REFERENCES outbox(id),
            msgid TEXT,
            created_at TEXT,
            status TEXT NOT NULL DEFAULT 'waiting',   -- waiting | sent | reminded | unconfirmed
            reminded_at TEXT,
            confirmed_at TEXT,
            UNIQUE (village, day)
        )""")


@MIGRATIONS(name="0011_message_media")
def m0011(db: Database) -> None:
    # An image, a file or a voice note without words: the bot answers it with a request for a few words of text.
    db.execute("ALTER TABLE messages ADD COLUMN media TEXT")


@MIGRATIONS(name="0012_app_events_kf")
def m0012(db: Database) -> None:
    # The app callback's events (微信客服 notices, card taps, customer-group changes), committed before WeCom gets
    # its 200 and handled afterwards, off the request; a retried callback has the same fingerprint and folds.
    db.execute("""
        CREATE TABLE app_events (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                 -- kf | card | group
            fingerprint TEXT NOT NULL UNIQUE,   -- sha256 of the decrypted callback's fields
            payload TEXT NOT NULL,              -- those fields, JSON
            received_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'new', -- new | done | failed
            handled_at TEXT,
            error TEXT
        )""")
    db.execute("CREATE INDEX app_events_status ON app_events (status, id)")
    # Where each kf account's sync_msg stands: advanced in the transaction that stores the messages it covered.
    db.execute("""
        CREATE TABLE kf_cursors (
            open_kfid TEXT PRIMARY KEY,
            cursor TEXT NOT NULL,
            pulled_at TEXT NOT NULL
        )""")
    # Residents who write through 微信客服: the village their kf link named (enter_session scene_param) and when
    # they last wrote, which opens WeCom's reply window (5 replies within 48 h).
    db.execute("""
        CREATE TABLE kf_customers (
            external_userid TEXT PRIMARY KEY,
            open_kfid TEXT NOT NULL,
            village TEXT,
            scene TEXT,
            entered_at TEXT,
            last_message_at TEXT
        )""")
    # Replies the window did not allow: kept, and sent the next time the resident writes.
    db.execute("""
        CREATE TABLE kf_held (
            id INTEGER PRIMARY KEY,
            external_userid TEXT NOT NULL,
            text TEXT NOT NULL,
            reason TEXT NOT NULL,               -- 48h | 5
            created_at TEXT NOT NULL,
            resent_at TEXT
        )""")
    db.execute("CREATE INDEX kf_held_waiting ON kf_held (external_userid, resent_at)")


@MIGRATIONS(name="0013_identity_and_group_stats")
def m0013(db: Database) -> None:
    # 亮明身份: every check of a customer group's members (each morning, and at once on a member change), with what
    # it found; the digest reads the latest per village, the cadres are told once a day per finding.
    db.execute("""
        CREATE TABLE identity_checks (
            id INTEGER PRIMARY KEY,
            village TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            trigger TEXT NOT NULL,              -- morning | change
            owner TEXT NOT NULL,                -- the group's owner as WeCom reports it
            owner_ok INTEGER NOT NULL,          -- 1: the configured owner
            cadres INTEGER NOT NULL,            -- configured cadres of the village
            shown INTEGER NOT NULL              -- of those: in the group, nickname showing name and post
        )""")
    db.execute("CREATE INDEX identity_checks_village ON identity_checks (village, checked_at)")
    db.execute("""
        CREATE TABLE identity_findings (
            check_id INTEGER NOT NULL REFERENCES identity_checks(id),
            userid TEXT NOT NULL,               -- the cadre; for a wrong owner, the group's actual owner
            problem TEXT NOT NULL,              -- missing | unlabelled | owner
            nickname TEXT NOT NULL DEFAULT '',  -- the group nickname seen
            expected TEXT NOT NULL DEFAULT '',  -- the nickname to set; for a wrong owner, the configured owner
            PRIMARY KEY (check_id, userid, problem)
        )""")
    # groupchat/statistic: WeCom counts per owner and natural day, never per group; one row per owner and day.
    db.execute("""
        CREATE TABLE customer_group_stats (
            owner TEXT NOT NULL,
            day TEXT NOT NULL,
            chat_total INTEGER NOT NULL,
            chat_has_msg INTEGER NOT NULL,
            member_total INTEGER NOT NULL,
            member_has_msg INTEGER NOT NULL,
            msg_total INTEGER NOT NULL,
            new_member_cnt INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (owner, day)
        )""")


@MIGRATIONS(name="0014_draft_posts")
def m0014(db: Database) -> None:
    # A customer group's answer (intake, claim, result) is handed to the duty cadre to paste: kept here beside the
    # morning's posts until the chat archive shows a cadre posting it (posted_at, posted_msgid, posted_by), so the
    # case gets its first response and a draft nobody posts is pressed like a late case.
    for column in ("kind TEXT NOT NULL DEFAULT 'morning'",   # morning | draft
                   "case_id INTEGER REFERENCES cases(id)",
                   "purpose TEXT",                           # intake | claim | result | progress | passed_up
                   "handed_to TEXT",                         # JSON list of the cadres the draft went to
                   "status TEXT",                            # drafts: waiting | posted | superseded
                   "posted_at TEXT", "posted_msgid TEXT", "posted_by TEXT"):
        db.execute(f"ALTER TABLE group_posts ADD COLUMN {column}")
    db.execute("CREATE INDEX group_posts_waiting ON group_posts (kind, status, village)")
    # Each rung of an unposted draft's ladder is pressed once (the nags table is per case and day).
    db.execute("""
        CREATE TABLE draft_nags (
            id INTEGER PRIMARY KEY,
            post_id INTEGER NOT NULL REFERENCES group_posts(id),
            rung TEXT NOT NULL,
            userids TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (post_id, rung)
        )""")


@MIGRATIONS(name="0015_publicity")
def m0015(db: Database) -> None:
    # 村务公开: every 公示 event (posted, corrected, withdrawn) is one row, never changed; a correction is a new
    # version of the same number and the old one stays. Each row is sealed in the ledger (bot/ledger.py FACTS).
    db.execute("""
        CREATE TABLE publicity (
            id INTEGER PRIMARY KEY,
            number INTEGER NOT NULL,            -- what residents type: 公示3
            version INTEGER NOT NULL,
            action TEXT NOT NULL,               -- posted | corrected | withdrawn
            town TEXT NOT NULL,
            village TEXT NOT NULL,
            item TEXT NOT NULL,                 -- the power list item's name
            period TEXT NOT NULL,               -- 2026-11, 2026-Q4, 2026-H2, 2026; '' for a per-event item
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            media TEXT,                         -- image | file: the cadre's post carried one
            posted_on TEXT NOT NULL,            -- local date the public period starts from
            ends_on TEXT NOT NULL,              -- local date, the last day residents may object
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            message_id INTEGER REFERENCES messages(id),
            note TEXT NOT NULL DEFAULT '',
            UNIQUE (number, version)
        )""")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"""CREATE TRIGGER publicity_no_{op.lower()} BEFORE {op} ON publicity
                       BEGIN SELECT RAISE(ABORT, 'publicity is append-only: post a correction'); END""")
    db.execute("CREATE INDEX publicity_village ON publicity (village, item, period)")
    # Which disclosure cases are about which item (an objection to a 公示, or a complaint that one is missing);
    # the sealed fact is the case's own 'linked' event, this is its index for counts.
    db.execute("""
        CREATE TABLE publicity_links (
            case_id INTEGER PRIMARY KEY REFERENCES cases(id),
            village TEXT NOT NULL,
            item TEXT NOT NULL,
            number INTEGER,                     -- the 公示 objected to; NULL: the item was not published
            kind TEXT NOT NULL,                 -- objection | missing | complaint
            at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX publicity_links_number ON publicity_links (number)")
    # Reminders and nags about an item not yet published: at most one per village, item, period, rung and day.
    db.execute("""
        CREATE TABLE publicity_nags (
            id INTEGER PRIMARY KEY,
            village TEXT NOT NULL,
            item TEXT NOT NULL,
            period TEXT NOT NULL,
            rung TEXT NOT NULL,                 -- duty (the preparer) | secretary | leader | inspectors
            day TEXT NOT NULL,
            userids TEXT NOT NULL,
            at TEXT NOT NULL,
            UNIQUE (village, item, period, rung, day)
        )""")


@MIGRATIONS(name="0016_clue_ledger_county")
def m0016(db: Database) -> None:
    # The clue ledger's step and outcome (受理 … 办结; 属实 … 诬告) and the county department a case was handed to
    # (交办): folded from events like the rest of case_state, so `xiaowei audit verify` re-checks them too.
    for column in ("stage", "outcome", "department"):
        db.execute(f"ALTER TABLE case_state ADD COLUMN {column} TEXT")


@MIGRATIONS(name="0018_quotes_and_news_dates")
def m0018(db: Database) -> None:
    # The words a message quotes: a quoted reply belongs to the case it quotes, not to a new matter.
    db.execute("ALTER TABLE messages ADD COLUMN quote TEXT")
    # A positive item's dates (ISO days, inclusive) and the villages it is for (a JSON list; NULL: all).
    for column in ("valid_from", "valid_until", "villages"):
        db.execute(f"ALTER TABLE news ADD COLUMN {column} TEXT")


@MIGRATIONS(name="0021_message_extras_sealed")
def m0021(db: Database) -> None:
    # What a message quotes and the media it carries (0012, 0018) came after the ledger sealed messages, and a
    # sealed fact's columns never change. So they are sealed as a fact of their own, a view over the messages
    # that carry either, from this migration on (the rows before it were never sealed with them).
    db.execute("CREATE TABLE message_extras_start (after_id INTEGER NOT NULL)")
    db.execute("INSERT INTO message_extras_start SELECT COALESCE(MAX(id), 0) FROM messages")
    db.execute("""
        CREATE VIEW message_extras AS SELECT id, media, quote FROM messages
        WHERE (media IS NOT NULL OR quote IS NOT NULL) AND id > (SELECT after_id FROM message_extras_start)""")


@MIGRATIONS(name="0022_cases_by_village_and_day")
def m0022(db: Database) -> None:
    # A request heard in a village is compared with that village's recent open requests (附议, a cadre's answer):
    # by village and day, not through every case the village ever had.
    db.execute("CREATE INDEX cases_village_received ON cases (village, received_at)")


@MIGRATIONS(name="0023_ledger_runs")
def m0023(db: Database) -> None:
    # An entry may seal a run of consecutive rows of one table (bot/ledger.py add_many): row_id is its first row,
    # last_row_id its last; NULL for an entry of one row, as every entry before this migration is.
    db.execute("ALTER TABLE ledger ADD COLUMN last_row_id INTEGER")
