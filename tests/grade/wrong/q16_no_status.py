#!/usr/bin/env python3
"""Q16 bug: the log line lacks the status."""
from app import Handler, main


class Wrong(Handler):
    def log_line(self, status):
        import sys, time
        ms = (time.monotonic() - self.t0) * 1000
        sys.stderr.write(f"method={self.command} path={self.path_only} duration_ms={ms:.3f}\\n")
        sys.stderr.flush()


main(Wrong)
