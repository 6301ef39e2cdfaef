#!/usr/bin/env python3
"""Q131 bug: SQL built with string interpolation (the classic injection hole).

GET /users[?name=N] and POST /users {"name","email"} over stdlib sqlite3, as Q131 asks;
find() and insert() paste the input into the SQL text. q131_strip_quotes.py reuses the
server with a different (also wrong) "fix".
"""
import argparse
import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
DB = None


def find(db, name):
    if name is None:
        return db.execute("SELECT id, name, email FROM users ORDER BY id").fetchall()
    return db.execute(f"SELECT id, name, email FROM users WHERE name = '{name}'").fetchall()


def insert(db, name, email):
    cur = db.execute(f"INSERT INTO users (name, email) VALUES ('{name}', '{email}')")
    return cur.lastrowid


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    find = staticmethod(find)
    insert = staticmethod(insert)

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path != "/users":
            return self.reply(404, {"error": "not found"})
        q = parse_qs(u.query, keep_blank_values=True)
        name = q["name"][0] if "name" in q else None
        try:
            with LOCK:
                rows = type(self).find(DB, name)
        except sqlite3.Error as e:
            return self.reply(500, {"error": f"sqlite3.OperationalError: {e}"})
        self.reply(200, [{"id": r[0], "name": r[1], "email": r[2]} for r in rows])

    def do_POST(self):
        if urlsplit(self.path).path != "/users":
            return self.reply(404, {"error": "not found"})
        n = int(self.headers.get("Content-Length") or 0)
        try:
            d = json.loads(self.rfile.read(n))
            name, email = d["name"], d["email"]
        except (ValueError, KeyError, TypeError):
            return self.reply(400, {"error": "name and email required"})
        try:
            with LOCK:
                uid = type(self).insert(DB, name, email)
                DB.commit()
        except sqlite3.Error as e:
            return self.reply(500, {"error": f"sqlite3.OperationalError: {e}"})
        self.reply(201, {"id": uid, "name": name, "email": email})


def main(handler=Handler):
    global DB
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", default=":memory:")
    a = ap.parse_args()
    DB = sqlite3.connect(a.db, check_same_thread=False)
    DB.execute("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)")
    ThreadingHTTPServer(("127.0.0.1", a.port), handler).serve_forever()


if __name__ == "__main__":
    main()
