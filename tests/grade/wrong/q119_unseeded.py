#!/usr/bin/env python3
"""Q119 bug: the generator ignores the seed (random.Random() seeds from the clock)."""
import os
import random
import sys
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../curriculum/solutions"))
import q119_seed as m  # noqa: E402

m.random = types.SimpleNamespace(Random=lambda seed: random.Random())
m.main()
