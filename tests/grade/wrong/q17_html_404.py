#!/usr/bin/env python3
"""Q17 bug: unknown paths get a text/html 404 page."""
from app import Handler, main


class Wrong(Handler):
    def route(self, method, path, body):
        known = path in ("/", "/time", "/echo", "/search", "/error", "/users") or path.startswith(("/users/", "/static/"))
        if not known and path not in ("/home", "/about", "/contact"):
            return self.send(404, "<h1>Not Found</h1>", "text/html")
        return super().route(method, path, body)


main(Wrong)
