#!/usr/bin/env python3
"""Q20 bug: /static/ paths are joined to the directory without a containment check."""
from app import Handler, main


class Wrong(Handler):
    def resolve(self, rel):
        import os, urllib.parse
        full = os.path.join(self.static_dir, urllib.parse.unquote(rel))
        return full if os.path.isfile(full) else None


main(Wrong)
