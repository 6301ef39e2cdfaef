#!/usr/bin/env python3
"""Q13 bug: the echo is compact JSON, not pretty-printed."""
from app import Handler, main


class Wrong(Handler):
    def pretty(self, value):
        return False


main(Wrong)
