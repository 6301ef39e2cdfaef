#!/usr/bin/env python3
"""Q131 bug: "sanitises" input by deleting quotes before interpolating it. Payloads
stop working, but so does a user named O'Brien: the data is silently changed."""
import q131_interpolated as base


def clean(s):
    return s.replace("'", "").replace('"', "")


def find(db, name):
    return base.find(db, None if name is None else clean(name))


def insert(db, name, email):
    return base.insert(db, clean(name), clean(email))


class Handler(base.Handler):
    find = staticmethod(find)
    insert = staticmethod(insert)


base.main(Handler)
