#!/usr/bin/env python3
"""Q111 bug: a connection that broke goes back to the pool, so a killed backend keeps failing."""
import q111_base as b


class NoReconnect(b.Pool):
    def release(self, conn, broken):
        super().release(conn, False)  # never discards: the dead connection is handed out again


b.main(NoReconnect)
