#!/usr/bin/env python3
"""Q11 bug: HEAD / answers with the body too."""
from app import Handler, main


class Wrong(Handler):
    def send(self, status, body=b"", ctype=None, headers=None):
        command, self.command = self.command, "GET"  # write the body whatever the method
        try:
            super().send(status, body, ctype, headers)
        finally:
            self.command = command


main(Wrong)
