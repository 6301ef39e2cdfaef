#!/usr/bin/env python3
"""Q111 bug: idle connections are reused, but a busy pool opens another one without limit."""
import q111_base as b


class Unbounded(b.Pool):
    def acquire(self):
        with self.cond:
            if self.idle:
                return self.idle.pop()
            self.open += 1  # counted, never compared with self.size
        return self.connect()


b.main(Unbounded)
