#!/usr/bin/env python3
"""Q119 reference: deterministic, fast seeding of an SQLite database.

    q119_seed.py DB SEED ROWS

DB already has the schema (users, posts: see `strata questions show 119`). Inserts ROWS
users and ROWS posts, every post by an existing user. The same SEED gives the same rows
(one random.Random(SEED) drives every value, in a fixed order); speed comes from one
transaction and executemany over generated rows instead of a commit per row.
Graded by `strata grade Q119 --cmd "python3 q119_seed.py {db} {seed} {rows}"`.
"""
import random
import sqlite3
import sys

FIRST = ["ada", "alan", "grace", "linus", "barbara", "ken", "dennis", "edsger", "donald", "margaret",
         "john", "frances", "tim", "radia", "niklaus", "leslie"]
LAST = ["lovelace", "turing", "hopper", "torvalds", "liskov", "thompson", "ritchie", "dijkstra",
        "knuth", "hamilton", "backus", "allen", "berners-lee", "perlman", "wirth", "lamport"]
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
         "incididunt ut labore et dolore magna aliqua").split()


def users(rng, rows):
    for i in range(1, rows + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first.title()} {last.title()} {rng.randrange(10**6):06d}"
        day = rng.randrange(365 * 5)
        created = f"{2020 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 28:02d}T{rng.randrange(24):02d}:00:00Z"
        yield (i, name, f"{first}.{last}.{i}@example.test", created)


def posts(rng, rows):
    for i in range(1, rows + 1):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7))).capitalize()
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 30)))
        yield (i, rng.randint(1, rows), f"{title} #{rng.randrange(10**6)}", body)


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, seed, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("BEGIN")
    db.executemany("INSERT INTO users (id, name, email, created_at) VALUES (?, ?, ?, ?)", users(rng, rows))
    db.executemany("INSERT INTO posts (id, user_id, title, body) VALUES (?, ?, ?, ?)", posts(rng, rows))
    db.execute("COMMIT")
    db.close()


if __name__ == "__main__":
    main()
