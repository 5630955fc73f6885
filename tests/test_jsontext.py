"""kscand_perf/render/jsontext.py against its oracle, the json module: the same text as
``json.dumps(value, indent=2)`` for random values of every JSON kind (and the report's
own, tests/test_render.py and the suites that compare json_text with json.dumps)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from kscand_perf.render import jsontext

SCALARS = [None, True, False, 0, -1, 7, 2**70, -2**63, 0.0, -0.0, 1.5, 1e300, 1e-300,
           float("nan"), float("inf"), float("-inf"), "", "a", 'q"uote', "back\\slash",
           "line\nbreak", "tab\t", "\x00\x1f", "é", "日本", "\U0001f600", "</script>"]
KEYS = ["", "k", "é", 'q"', "\n", 0, -3, 1.25, True, False, None]


def value(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth <= 0 or kind < 0.4:
        return rng.choice(SCALARS)
    n = rng.choice([0, 1, 2, 3, 5])
    if kind < 0.7:
        return {rng.choice(KEYS): value(rng, depth - 1) for _ in range(n)}
    items = [value(rng, depth - 1) for _ in range(n)]
    return tuple(items) if kind < 0.75 else items


@pytest.mark.parametrize("seed", range(300))
def test_same_text_as_json_dumps(seed: int) -> None:
    rng = random.Random(seed)
    v = value(rng, 5)
    pad = rng.choice(["", "  ", "    "])
    assert jsontext.dumps(v, pad) == json.dumps(v, indent=2).replace("\n", "\n" + pad)


def test_what_json_cannot_write_is_left_to_json() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"a": [1, object()]})
    with pytest.raises(TypeError):
        jsontext.dumps({(1, 2): 3})
