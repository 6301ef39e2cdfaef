#!/usr/bin/env python3
"""Q13 bug: invalid JSON gets a 400 in text/plain instead of problem+json."""
from app import Handler, main


class Wrong(Handler):
    def problem(self, status, title, **extra):
        self.send(status, title + "\\n", "text/plain")


main(Wrong)
