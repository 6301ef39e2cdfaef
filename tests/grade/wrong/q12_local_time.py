#!/usr/bin/env python3
"""Q12 bug: /time in local time without a UTC offset."""
from app import Handler, main


class Wrong(Handler):
    def format_time(self, now):
        return __import__("time").strftime("%Y-%m-%dT%H:%M:%S", __import__("time").localtime(now))


main(Wrong)
