#!/usr/bin/env python3
"""Q11 bug: HTTP/1.0 without keep-alive, so every response closes the connection."""
from app import Handler, main


class Wrong(Handler):
    protocol_version = "HTTP/1.0"


main(Wrong)
