#!/usr/bin/env python3
"""Q112 bug: down runs the .down.sql but leaves the version in schema_migrations."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../curriculum/solutions"))
import q112_migrate as m  # noqa: E402

right = m.step


def step(db, sql, record, params):
    if record.startswith("DELETE"):
        record, params = "SELECT ?", params  # forgets to delete the record
    right(db, sql, record, params)


m.step = step
m.main()
