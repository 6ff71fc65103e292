"""Document limits: size, depth, arrays, field names, numbers, JSON-only values, system fields."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import pytest

from baas.core.data.limits import (
    MAX_ARRAY,
    MAX_BYTES,
    SYSTEM_FIELDS,
    check_document,
    check_no_system_fields,
    is_field_name,
    path_text,
)
from baas.core.errors import ApiError, BadRequest, PayloadTooLarge


def refused(document: Any, **limits: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        check_document(document, **limits)
    return caught.value


def nested(depth: int, leaf: Any = 1, kind: str = "list") -> Any:
    """``depth`` containers, built without recursion."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def compact_size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 4 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.randint(-(2**63), 2**63 - 1)
    if choice == 3:
        return rng.uniform(-1e300, 1e300) * rng.choice([1, 1e-300, 0.5])
    if choice in (4, 5):
        alphabet = 'ab"\\\n\t\x01é€😀 </>'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if choice in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(4))}


# --- plain documents pass ---------------------------------------------------------------

@pytest.mark.parametrize("document", [
    {},
    {"title": "x", "n": 1, "f": 1.5, "ok": True, "no": False, "nothing": None},
    {"a": {"b": [1, {"c": "d"}, []]}, "e": {}},
    {"big": 2**63 - 1, "small": -(2**63), "zero": -0.0, "tiny": 5e-324, "huge": 1.7e308},
    {"a" * 128: 1, "A_1": 2, "z9": 3},
    {"text": "unicode values are fine: é € 😀 \u0000"},
])
def test_plain_documents_pass(document: dict[str, Any]) -> None:
    check_document(document)


def test_size_matches_compact_utf8_json_exactly() -> None:
    rng = random.Random(7)
    for _ in range(300):
        document = {f"f{i}": random_value(rng) for i in range(rng.randrange(5))}
        size = compact_size(document)
        check_document(document, max_bytes=size)
        error = refused(document, max_bytes=size - 1)
        assert error.code == "document_too_large"


def test_size_counts_utf8_bytes_not_characters() -> None:
    document = {"s": "é" * 10}  # 10 characters, 20 bytes
    assert compact_size(document) == len('{"s":""}') + 20
    check_document(document, max_bytes=28)
    assert refused(document, max_bytes=27).code == "document_too_large"


# --- size --------------------------------------------------------------------------------

def test_two_mebibyte_document_is_413() -> None:
    error = refused({"blob": "x" * (2 * 1024 * 1024)})
    assert isinstance(error, PayloadTooLarge)
    assert (error.status, error.code) == (413, "document_too_large")
    assert error.details == {"max_bytes": MAX_BYTES}


def test_one_mebibyte_limit_is_inclusive() -> None:
    overhead = len('{"blob":""}')
    check_document({"blob": "x" * (MAX_BYTES - overhead)})
    assert refused({"blob": "x" * (MAX_BYTES - overhead + 1)}).code == "document_too_large"


def test_many_small_members_add_up() -> None:
    document = {"items": [{"name": "abcdefgh"} for _ in range(9_000)],
                "more": [{"name": "abcdefgh"} for _ in range(9_000)]}
    assert compact_size(document) > 100_000
    assert refused(document, max_bytes=100_000).code == "document_too_large"


# --- depth -------------------------------------------------------------------------------

def test_depth_32_passes_and_33_is_refused() -> None:
    check_document(nested(32, kind="dict"))  # the top-level object counts
    error = refused(nested(33, kind="dict"))
    assert (error.status, error.code) == (400, "document_too_deep")
    assert error.details["max_depth"] == 32
    assert error.details["field"] == ".".join(["a"] * 32)


def test_depth_100_is_refused() -> None:
    error = refused({"x": nested(100)})
    assert error.code == "document_too_deep"
    assert error.details["field"] == "x" + "[0]" * 31


def test_depth_100000_is_refused_quickly_without_recursion_error() -> None:
    for kind in ("list", "dict"):
        started = time.monotonic()
        error = refused({"x": nested(100_000, kind=kind)})
        assert error.code == "document_too_deep"
        assert time.monotonic() - started < 1


def test_deep_top_level_list_is_not_an_object() -> None:
    error = refused(nested(100_000))
    assert error.code == "invalid_document"


def test_custom_max_depth() -> None:
    check_document({"a": [1]}, max_depth=2)
    assert refused({"a": [[1]]}, max_depth=2).code == "document_too_deep"


# --- arrays ------------------------------------------------------------------------------

def test_ten_thousand_items_pass() -> None:
    check_document({"xs": list(range(MAX_ARRAY))})


def test_ten_thousand_and_one_items_are_refused() -> None:
    error = refused({"a": {"xs": [0] * (MAX_ARRAY + 1)}})
    assert (error.status, error.code) == (400, "array_too_long")
    assert error.details == {"field": "a.xs", "max_items": MAX_ARRAY}


def test_custom_max_array() -> None:
    check_document({"xs": [1, 2]}, max_array=2)
    assert refused({"xs": [[1, 2, 3]]}, max_array=2).details["field"] == "xs[0]"


def test_large_flat_document_is_linear() -> None:
    document = {f"f{i}": [{"v": i, "s": "text"} for _ in range(100)] for i in range(90)}
    started = time.monotonic()
    check_document(document)
    assert time.monotonic() - started < 1


# --- field names -------------------------------------------------------------------------

@pytest.mark.parametrize("key", [
    "$where", "$oid", "$date", "$gt", "a.b", "__proto__", "_bsontype", "_id", "constructor.x",
    "", "1a", "a-b", "a b", " a", "é", "tïtle", "ｔitle", "日本", "title\n", "a\x00", "a" * 129,
])
def test_bad_keys_are_refused_at_top_level(key: str) -> None:
    error = refused({key: 1})
    assert isinstance(error, BadRequest)
    assert (error.status, error.code) == (400, "invalid_field_name")
    assert error.details["key"] == key[:128]
    assert error.details["field"] == f"[{json.dumps(key[:64])}]"
    assert repr(key[:64]) in error.message


def test_bad_key_is_located_deep() -> None:
    error = refused({"a": {"b": [0, 1, 2, {"c": {"$where": "sleep(1)"}}]}})
    assert error.code == "invalid_field_name"
    assert error.details["field"] == 'a.b[3].c["$where"]'
    assert "'$where'" in error.message and "'a.b[3].c'" in error.message


def test_extended_json_values_cannot_occur() -> None:
    for value in ({"$oid": "5f0c"}, {"$date": "2024-01-01"}, {"$numberLong": "1"}):
        assert refused({"ref": value}).details["field"] == f'ref["{next(iter(value))}"]'


def test_non_string_key_is_refused() -> None:
    error = refused({"a": {1: "x"}})
    assert error.code == "invalid_field_name"
    assert error.details["field"] == "a"


def test_huge_key_is_reported_truncated() -> None:
    error = refused({"$" * 100_000: 1})
    assert len(error.message) < 400
    assert len(error.details["key"]) == 128


def test_is_field_name() -> None:
    assert is_field_name("a") and is_field_name("A" + "_" * 127)
    assert not is_field_name("a\n") and not is_field_name(5) and not is_field_name(None)


# --- numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "Infinity"),
    (2**63, "64 bits"), (-(2**63) - 1, "64 bits"), (10**400, "64 bits"),
])
def test_bad_numbers_are_refused(value: Any, message: str) -> None:
    error = refused({"a": {"b": [0, 1, 2, {"c": value}]}})
    assert (error.status, error.code) == (400, "invalid_number")
    assert error.details["field"] == "a.b[3].c"
    assert message in error.message


def test_number_in_array_is_located() -> None:
    assert refused({"xs": [1, 2, float("nan")]}).details["field"] == "xs[2]"


# --- not JSON ----------------------------------------------------------------------------

@pytest.mark.parametrize("document", [[], [1], "x", 1, None, True, (("a", 1),)])
def test_top_level_must_be_an_object(document: Any) -> None:
    error = refused(document)
    assert (error.status, error.code) == (400, "invalid_document")
    assert "details" not in error.message and error.details == {}


@pytest.mark.parametrize("value", [(1, 2), {1, 2}, b"bytes", object(), 1j, bytearray(b"x")])
def test_values_that_are_not_json(value: Any) -> None:
    error = refused({"a": [value]})
    assert error.code == "invalid_document"
    assert error.details["field"] == "a[0]"


def test_lone_surrogate_is_refused() -> None:
    document = json.loads('{"s": "\\ud800"}')
    error = refused(document)
    assert error.code == "invalid_document"
    assert error.details["field"] == "s"


def test_path_text() -> None:
    where = (((None, "a"), 3), "$x")
    assert path_text(where) == 'a[3]["$x"]'
    assert path_text(None) == ""


# --- system fields -----------------------------------------------------------------------

@pytest.mark.parametrize("name", SYSTEM_FIELDS)
def test_system_fields_are_refused(name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        check_no_system_fields({"title": "x", name: 1})
    error = caught.value
    assert (error.status, error.code) == (400, "system_field")
    assert error.details == {"field": name}
    assert error.message == f"{name!r} is set by the server; remove it from the body"


def test_system_fields_are_the_documented_four() -> None:
    assert SYSTEM_FIELDS == ("id", "created_at", "updated_at", "version")


def test_nested_system_names_and_look_alikes_are_fine() -> None:
    check_no_system_fields({"address": {"id": 1}, "ID": 2, "Version": 3, "versions": 4})
    check_document({"address": {"id": 1}, "id": "x", "version": 3})  # names alone are valid
