#!/usr/bin/env python3
"""Q12 bug: epoch_ms holds seconds."""
from app import Handler, main


class Wrong(Handler):
    def time(self):
        import time
        now = time.time()
        self.send_json(200, {"time": self.format_time(now), "epoch_ms": int(now)})


main(Wrong)
