#!/usr/bin/env python3
"""Q17 bug: the 500 body carries the stack trace."""
from app import Handler, main


class Wrong(Handler):
    def handle_any(self):
        import time, traceback, urllib.parse
        self.t0 = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        self.path_only, self.query = url.path, url.query
        body = self.read_body()
        try:
            self.route(self.command, url.path, body)
        except Exception:
            self.problem(500, "Internal Server Error", detail=traceback.format_exc())

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any


main(Wrong)
