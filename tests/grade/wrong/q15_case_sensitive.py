#!/usr/bin/env python3
"""Q15 bug: the search is case-sensitive."""
from app import Handler, main


class Wrong(Handler):
    def matches(self, name, q):
        return q in name


main(Wrong)
