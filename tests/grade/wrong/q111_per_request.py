#!/usr/bin/env python3
"""Q111 bug: no pool at all, a new connection per request (closed after it)."""
import q111_base as b


class PerRequest(b.Pool):
    def acquire(self):
        return self.connect()

    def release(self, conn, broken):
        conn.close()


b.main(PerRequest)
