#!/usr/bin/env python3
"""Q119 bug: post authors are drawn from a range larger than the users table, and the
script never turns foreign keys on (SQLite's default is off), so nothing stops it."""
import random
import sqlite3
import sys

path, seed, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
db = sqlite3.connect(path)
db.executemany("INSERT INTO users (id, name, email, created_at) VALUES (?, ?, ?, ?)",
               ((i, f"user {rng.random()}", f"u{i}@example.test", "2024-01-01") for i in range(1, rows + 1)))
db.executemany("INSERT INTO posts (id, user_id, title, body) VALUES (?, ?, ?, ?)",
               ((i, rng.randint(1, rows + rows // 5), f"title {rng.random()}", "body") for i in range(1, rows + 1)))
db.commit()
