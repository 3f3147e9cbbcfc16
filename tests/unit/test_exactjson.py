import json
from datetime import date
from decimal import Decimal

import pytest

from revloop import exactjson


def test_decimals_are_written_digit_for_digit() -> None:
    text = exactjson.dumps(
        {"a": Decimal("0.1"), "b": [Decimal("12345678901234.5678"), 3, None, True], "ü": "é"}
    )
    assert text == '{"a":0.1,"b":[12345678901234.5678,3,null,true],"ü":"é"}'
    assert json.loads(text, parse_float=Decimal)["b"][0] == Decimal("12345678901234.5678")
    assert exactjson.dumps("é", ensure_ascii=True) == '"\\u00e9"'


def test_floats_and_non_finite_numbers_are_refused() -> None:
    with pytest.raises(TypeError):
        exactjson.dumps({"x": 0.1})
    with pytest.raises(ValueError):
        exactjson.dumps(Decimal("NaN"))


def test_other_types_go_through_convert() -> None:
    assert exactjson.dumps({"d": date(2026, 10, 1)}, convert=lambda o: o.isoformat()) == '{"d":"2026-10-01"}'
    with pytest.raises(TypeError):
        exactjson.dumps(date(2026, 10, 1))
