#!/usr/bin/env python3
"""Q19 bug: validation reports only the first bad field."""
from app import Handler, main


class Wrong(Handler):
    def validate(self, u):
        return super().validate(u)[:1]


main(Wrong)
