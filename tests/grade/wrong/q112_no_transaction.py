#!/usr/bin/env python3
"""Q112 bug: each statement commits on its own, so a failing migration is half-applied."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../curriculum/solutions"))
import q112_migrate as m  # noqa: E402


def step(db, sql, record, params):
    for stmt in m.split(sql):
        db.execute(stmt)  # autocommit: no BEGIN, nothing to roll back
    db.execute(record, params)


m.step = step
m.main()
