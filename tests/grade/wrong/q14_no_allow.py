#!/usr/bin/env python3
"""Q14 bug: 405 without an Allow header."""
from app import Handler, main


class Wrong(Handler):
    def not_allowed(self):
        self.send(405, "Method Not Allowed\\n", "text/plain")


main(Wrong)
