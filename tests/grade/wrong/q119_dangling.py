#!/usr/bin/env python3
"""Q119 bug: post authors are drawn from a range larger than the users table."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../curriculum/solutions"))
import q119_seed as m  # noqa: E402


def posts(rng, rows):
    for i in range(1, rows + 1):
        yield (i, rng.randint(1, rows + rows // 5), f"title {rng.random()}", "body")


m.posts = posts
m.main()
