#!/usr/bin/env python3
"""Q18 bug: POST /users answers 200 instead of 201."""
from app import Handler, main


class Wrong(Handler):
    def created_status(self):
        return 200


main(Wrong)
