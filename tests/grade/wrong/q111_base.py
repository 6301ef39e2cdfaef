#!/usr/bin/env python3
"""Q111: a correct pooled server in Python, the base the planted-bug servers patch.

    python3 q111_base.py --port PORT --db URL --pool N

GET /pid answers {"pid": N} (pg_backend_pid of the connection used), GET /sleep?ms=M holds
a connection M ms, GET /stats the pool's counters. Pool is bounded (a Condition queue),
reuses idle connections and drops a connection whose query failed with a connection
error, so the next request opens a fresh one.
"""
import argparse
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2


class Pool:
    def __init__(self, url, size):
        self.url, self.size = url, size
        self.idle, self.open = [], 0
        self.cond = threading.Condition()

    def connect(self):
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        return conn

    def acquire(self):
        with self.cond:
            while not self.idle and self.open >= self.size:
                self.cond.wait()
            if self.idle:
                return self.idle.pop()
            self.open += 1
        try:
            return self.connect()
        except Exception:
            with self.cond:
                self.open -= 1
                self.cond.notify()
            raise

    def release(self, conn, broken):
        with self.cond:
            if broken:
                self.open -= 1
                conn.close()
            else:
                self.idle.append(conn)
            self.cond.notify()

    def stats(self):
        with self.cond:
            return {"max_size": self.size, "size": self.open, "idle": len(self.idle)}


def query(pool, sql, params=()):
    conn = pool.acquire()
    broken = False
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()[0]
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        broken = True
        raise
    finally:
        pool.release(conn, broken)


class Handler(BaseHTTPRequestHandler):
    pool = None

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            if url.path == "/pid":
                self.reply(200, {"pid": query(self.pool, "SELECT pg_backend_pid()")})
            elif url.path == "/sleep":
                ms = int(urllib.parse.parse_qs(url.query).get("ms", ["0"])[0])
                sql = "SELECT pg_backend_pid() FROM (SELECT pg_sleep(%s)) AS s"
                self.reply(200, {"pid": query(self.pool, sql, (ms / 1000.0,)), "ms": ms})
            elif url.path == "/stats":
                self.reply(200, self.pool.stats())
            else:
                self.reply(404, {"title": "not found"})
        except psycopg2.Error as e:
            self.reply(503, {"title": "database error", "detail": str(e).strip()})

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the grader's 40 simultaneous connects


def main(pool_class=Pool):
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--pool", type=int, required=True)
    a = ap.parse_args()
    Handler.pool = pool_class(a.db, a.pool)
    Server(("127.0.0.1", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
