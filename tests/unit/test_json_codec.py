"""The json/jsonb values app-api writes and reads: orjson, with the standard library's reach."""

from __future__ import annotations

import json

from app.core.db import dumps_json, loads_json


def test_written_values_read_back_unchanged() -> None:
    values = [
        {"naïve": "é ✓ 𝄞", "deep": {"list": [1, 2.5, None, True, {}]}},
        [],
        'text with "quotes" and \\ backslashes',
        2**63 - 1,
        -(2**63),
        0.1,
    ]
    for value in values:
        text = dumps_json(value)
        assert json.loads(text) == value
        assert loads_json(text) == value


def test_an_integer_beyond_64_bits_is_written_whole() -> None:
    # orjson refuses it; the standard library writes every digit.
    assert dumps_json({"n": 2**70}) == '{"n": 1180591620717411303424}'
    assert json.loads(dumps_json([-(2**100)])) == [-(2**100)]
