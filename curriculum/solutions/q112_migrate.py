#!/usr/bin/env python3
"""Q112 reference: up/down migrations from a directory of SQL files, on SQLite.

    q112_migrate.py DB DIR up          apply every pending migration, in version order
    q112_migrate.py DB DIR down [N]    revert the last N applied (default 1), newest first
    q112_migrate.py DB DIR status      one line per migration: VERSION NAME applied|pending

DIR holds NNNN_name.up.sql and NNNN_name.down.sql. Each step runs in one transaction
together with its schema_migrations row, so a failing file leaves no trace and stops
the run (exit 1). Graded by `strata grade Q112 --cmd "python3 q112_migrate.py {db} {dir} {action}"`.
"""
import os
import re
import sqlite3
import sys

FILE = re.compile(r"^(\d+)_(\w+)\.(up|down)\.sql$")


def load(directory):
    """{version: {"name": str, "up": sql, "down": sql}} from the directory."""
    migs = {}
    for f in os.listdir(directory):
        m = FILE.match(f)
        if not m:
            continue
        v = int(m.group(1))
        entry = migs.setdefault(v, {"name": m.group(2)})
        with open(os.path.join(directory, f), encoding="utf-8") as fh:
            entry[m.group(3)] = fh.read()
    for v, e in migs.items():
        if "up" not in e or "down" not in e:
            sys.exit(f"migration {v} ({e['name']}) needs both .up.sql and .down.sql")
    return migs


def applied(db):
    db.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
               "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)")
    return [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY version")]


def step(db, sql, record, params):
    """Run a file's SQL and its bookkeeping statement in one transaction."""
    try:
        db.execute("BEGIN")
        for stmt in split(sql):
            db.execute(stmt)
        db.execute(record, params)
        db.execute("COMMIT")
    except sqlite3.Error:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def split(sql):
    """Statements of a file: sqlite3.complete_statement knows about quotes and comments."""
    out, cur = [], ""
    for line in sql.splitlines(keepends=True):
        cur += line
        if sqlite3.complete_statement(cur):
            out.append(cur)
            cur = ""
    if cur.strip():
        out.append(cur)
    return out


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    path, directory, action = sys.argv[1], sys.argv[2], sys.argv[3]
    migs = load(directory)
    db = sqlite3.connect(path, isolation_level=None)  # we issue BEGIN/COMMIT ourselves
    db.execute("PRAGMA foreign_keys = ON")
    done = applied(db)
    try:
        if action == "up":
            for v in sorted(set(migs) - set(done)):
                step(db, migs[v]["up"], "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                     (v, migs[v]["name"]))
                print(f"applied {v:04d} {migs[v]['name']}")
        elif action == "down":
            n = int(sys.argv[4]) if len(sys.argv) > 4 else 1
            for v in list(reversed(done))[:n]:
                if v not in migs:
                    sys.exit(f"migration {v} is applied but has no files in {directory}")
                step(db, migs[v]["down"], "DELETE FROM schema_migrations WHERE version = ?", (v,))
                print(f"reverted {v:04d} {migs[v]['name']}")
        elif action == "status":
            for v in sorted(migs):
                print(f"{v:04d} {migs[v]['name']} {'applied' if v in done else 'pending'}")
        else:
            sys.exit(f"unknown action {action!r}: up, down [N] or status")
    except sqlite3.Error as e:
        print(f"migration failed, rolled back: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
