"""Collection schemas: definitions, every type and option, errors with paths, server fields."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml

from baas.core import clock
from baas.core.clock import normalize_datetime
from baas.core.data.schema import (
    MAX_ERRORS,
    Field,
    Schema,
    apply_server_fields,
)
from baas.core.errors import BadRequest

EXAMPLE: dict[str, Any] = {"fields": {
    "title": {"type": "string", "required": True, "min_length": 1, "max_length": 200,
              "pattern": "^[A-Za-z ]+$"},
    "status": {"type": "string", "enum": ["draft", "published"], "default": "draft"},
    "price": {"type": "number", "min": 0, "max": 1e9},
    "count": {"type": "integer", "min": 0},
    "done": {"type": "boolean", "default": False},
    "due": {"type": "datetime"},
    "tags": {"type": "array", "items": {"type": "string", "max_length": 40}, "max_length": 20},
    "address": {"type": "object", "fields": {"city": {"type": "string"}}},
    "author": {"type": "reference", "collection": "users"},
    "owner": {"type": "string", "server_owned": True, "value": "@auth.id"},
    "email": {"type": "string", "unique": True},
}, "additional_fields": True}

SCHEMA = Schema.parse(EXAMPLE)


def one(spec: dict[str, Any], **schema: Any) -> Schema:
    return Schema.parse({"fields": {"x": spec}, **schema})


def problems(schema: Schema, document: dict[str, Any], *, partial: bool = False
             ) -> list[tuple[str, str]]:
    with pytest.raises(BadRequest) as caught:
        schema.validate(document, partial=partial)
    error = caught.value
    assert (error.status, error.code) == (400, "invalid_document")
    return [(item["field"], item["code"]) for item in error.details["errors"]]


def definition_errors(definition: Any) -> list[tuple[str, str]]:
    with pytest.raises(BadRequest) as caught:
        Schema.parse(definition)
    error = caught.value
    assert (error.status, error.code) == (400, "invalid_schema")
    assert set(error.details) == {"errors"}
    return [(item["field"], item["message"]) for item in error.details["errors"]]


def definition_fields(definition: Any) -> list[str]:
    return [field for field, _ in definition_errors(definition)]


# --- parsing and the normalized form -----------------------------------------------------

def test_example_parses_and_round_trips() -> None:
    normalized = SCHEMA.to_json()
    assert Schema.parse(normalized) == SCHEMA
    assert Schema.parse(normalized).to_json() == normalized
    assert normalized["fields"]["done"] == {"type": "boolean", "default": False}
    assert normalized["fields"]["title"] == EXAMPLE["fields"]["title"]
    assert normalized["fields"]["author"] == {"type": "reference", "collection": "users"}
    assert normalized["additional_fields"] is True


def test_to_json_drops_false_flags_and_keeps_meaningful_ones() -> None:
    schema = Schema.parse({"fields": {
        "a": {"type": "string", "required": False, "unique": False},
        "o": {"type": "object", "additional_fields": False, "fields": {}},
        "p": {"type": "object", "additional_fields": True},
        "n": {"type": "integer", "min": 1.0, "enum": [1.0, 2]},
    }, "additional_fields": False})
    assert schema.to_json() == {"fields": {
        "a": {"type": "string"},
        "o": {"type": "object", "fields": {}, "additional_fields": False},
        "p": {"type": "object"},
        "n": {"type": "integer", "min": 1, "enum": [1, 2]},
    }, "additional_fields": False}
    assert Schema.parse(schema.to_json()) == schema


def test_empty_and_minimal_definitions() -> None:
    assert Schema.parse({}).to_json() == {"fields": {}, "additional_fields": True}
    assert Schema.parse({"fields": {}}).validate({"anything": [1]}) == {"anything": [1]}


def test_yaml_definition() -> None:
    definition = yaml.safe_load("""
fields:
  title: {type: string, required: true, max_length: 200}
  due:
    type: datetime
    default: 2024-05-01T12:00:00+02:00
  price: {type: number, min: 0, max: 1.0e+9}
additional_fields: false
""")  # PyYAML reads 1e9 and 1.0e9 as strings (YAML 1.1): they would be definition errors
    schema = Schema.parse(definition)
    assert schema.fields["due"].default == "2024-05-01T10:00:00.000000Z"
    assert schema.validate({"title": "x"}) == {"title": "x", "due": "2024-05-01T10:00:00.000000Z"}


def test_field_is_a_plain_dataclass() -> None:
    assert SCHEMA.fields["count"] == Field("integer", min=0)
    assert SCHEMA.fields["tags"].items == Field("string", max_length=40)


# --- valid documents ---------------------------------------------------------------------

def test_full_document_is_cleaned() -> None:
    document = {
        "title": "Lamp", "status": "published", "price": 12.5, "count": 3.0, "done": True,
        "due": "2024-05-01T12:00:00+02:00", "tags": ["a", "b"], "address": {"city": "Oslo"},
        "author": "usr_1", "owner": "usr_2", "email": "a@b.c", "extra": {"free": [1]},
    }
    cleaned = SCHEMA.validate(document)
    assert cleaned == {**document, "count": 3, "due": "2024-05-01T10:00:00.000000Z"}
    assert type(cleaned["count"]) is int
    assert document["due"] == "2024-05-01T12:00:00+02:00"  # the input is not changed


def test_defaults_apply_on_full_validation_only() -> None:
    assert SCHEMA.validate({"title": "A"}) == {"title": "A", "status": "draft", "done": False}
    assert SCHEMA.validate({"title": "A"}, partial=True) == {"title": "A"}
    assert SCHEMA.validate({"price": 1}, partial=True) == {"price": 1}


def test_explicit_null_is_kept_and_not_defaulted() -> None:
    cleaned = SCHEMA.validate({"title": "A", "status": None, "price": None, "tags": None})
    assert cleaned == {"title": "A", "status": None, "price": None, "tags": None, "done": False}


def test_defaults_are_copied() -> None:
    schema = one({"type": "array", "default": ["a"]})
    first = schema.validate({})
    first["x"].append("b")
    assert schema.validate({}) == {"x": ["a"]}


def test_nested_defaults_apply_inside_a_present_object() -> None:
    schema = one({"type": "object", "fields": {"n": {"type": "integer", "default": 0},
                                               "s": {"type": "string", "required": True}}})
    assert schema.validate({"x": {"s": "a"}}) == {"x": {"s": "a", "n": 0}}
    assert schema.validate({"x": {"s": "a"}}, partial=True) == {"x": {"s": "a", "n": 0}}
    assert schema.validate({}) == {}
    assert problems(schema, {"x": {}}, partial=True) == [("x.s", "required")]


def test_additional_fields() -> None:
    closed = Schema.parse({"fields": {"a": {"type": "string"}}, "additional_fields": False})
    assert problems(closed, {"a": "x", "b": 1, "c": 2}) == [("b", "unknown_field"),
                                                              ("c", "unknown_field")]
    assert SCHEMA.validate({"title": "A", "zzz": 1})["zzz"] == 1


def test_system_fields_of_a_stored_document_pass_through() -> None:
    closed = Schema.parse({"fields": {"a": {"type": "string"}}, "additional_fields": False})
    stored = {"id": "doc_1", "created_at": "x", "updated_at": "y", "version": 3, "a": "z"}
    assert closed.validate(stored) == stored
    nested = one({"type": "object", "fields": {}, "additional_fields": False})
    assert problems(nested, {"x": {"id": 1}}) == [("x.id", "unknown_field")]


def test_not_an_object() -> None:
    with pytest.raises(BadRequest) as caught:
        SCHEMA.validate(["x"])  # type: ignore[arg-type]
    assert caught.value.code == "invalid_document"


# --- every type, refused with path and code ----------------------------------------------

@pytest.mark.parametrize(("field", "value", "code"), [
    ("title", 5, "invalid_type"),
    ("title", "", "too_short"),
    ("title", "A" * 201, "too_long"),
    ("title", "L4mp", "pattern_mismatch"),
    ("status", "gone", "not_in_enum"),
    ("status", 1, "invalid_type"),
    ("price", "12", "invalid_type"),
    ("price", True, "invalid_type"),
    ("price", float("nan"), "invalid_type"),
    ("price", -0.5, "too_small"),
    ("price", 1e9 + 1, "too_large"),
    ("count", 1.5, "invalid_type"),
    ("count", False, "invalid_type"),
    ("count", "3", "invalid_type"),
    ("count", -1, "too_small"),
    ("count", 2**63, "out_of_range"),
    ("count", 1e19, "out_of_range"),
    ("done", 1, "invalid_type"),
    ("done", "true", "invalid_type"),
    ("due", "tomorrow", "invalid_datetime"),
    ("due", 1714567890, "invalid_datetime"),
    ("tags", "a", "invalid_type"),
    ("tags", ["a"] * 21, "too_long"),
    ("tags", {"0": "a"}, "invalid_type"),
    ("address", "Oslo", "invalid_type"),
    ("address", [], "invalid_type"),
    ("author", "", "invalid_type"),
    ("author", 7, "invalid_type"),
    ("author", "u" * 129, "too_long"),
    ("email", ["a@b.c"], "invalid_type"),
])
def test_refused_values(field: str, value: Any, code: str) -> None:
    assert problems(SCHEMA, {"title": "A", field: value}) == [(field, code)]


def test_messages() -> None:
    with pytest.raises(BadRequest) as caught:
        SCHEMA.validate({"title": "A", "tags": ["ok", "fine", "x" * 41]})
    assert caught.value.details == {"errors": [
        {"field": "tags[2]", "code": "too_long", "message": "at most 40 characters"}]}
    assert caught.value.message == ("the document does not match the collection's schema: "
                                    "tags[2]: at most 40 characters")
    with pytest.raises(BadRequest) as caught:
        SCHEMA.validate({"status": "x", "count": -1})
    assert [e["message"] for e in caught.value.details["errors"]] == [
        'must be one of: "draft", "published"', "must be at least 0", "is required"]
    assert caught.value.message.endswith("(and 2 more problems)")


def test_reference_accepts_any_id_without_looking_it_up() -> None:
    assert SCHEMA.validate({"title": "A", "author": "u" * 128})["author"] == "u" * 128
    assert SCHEMA.validate({"title": "A", "author": "does-not-exist"})["author"]


def test_every_problem_is_reported_with_its_path() -> None:
    nested = one({"type": "array", "items": {"type": "object", "additional_fields": False,
                                             "fields": {"n": {"type": "integer", "max": 5},
                                                        "s": {"type": "string",
                                                              "required": True}}}})
    found = problems(nested, {"x": [{"n": 1, "s": "a"}, {"n": 9}, None, {"s": "b", "q": 1}]})
    assert found == [("x[1].n", "too_large"), ("x[1].s", "required"), ("x[2]", "invalid_type"),
                     ("x[3].q", "unknown_field")]
    found = problems(SCHEMA, {"title": None, "count": "x", "tags": ["a", 5, "b" * 50],
                              "address": {"city": 1}})
    assert found == [("title", "required"), ("count", "invalid_type"),
                     ("tags[1]", "invalid_type"), ("tags[2]", "too_long"),
                     ("address.city", "invalid_type")]


def test_unknown_nested_field_names_its_object() -> None:
    schema = one({"type": "object", "fields": {}, "additional_fields": False})
    with pytest.raises(BadRequest) as caught:
        schema.validate({"x": {"zip": 1, "$bad": 2}})
    errors = caught.value.details["errors"]
    assert [e["field"] for e in errors] == ["x.zip", 'x["$bad"]']
    assert errors[0]["message"] == "is not a field of 'x'"


def test_required_and_partial() -> None:
    assert problems(SCHEMA, {}) == [("title", "required")]
    assert problems(SCHEMA, {"title": None}, partial=True) == [("title", "required")]
    assert SCHEMA.validate({}, partial=True) == {}
    assert problems(SCHEMA, {"count": "x"}, partial=True) == [("count", "invalid_type")]


def test_required_with_default_is_filled() -> None:
    schema = one({"type": "integer", "required": True, "default": 3})
    assert schema.validate({}) == {"x": 3}
    assert problems(schema, {"x": None}) == [("x", "required")]


def test_array_bounds_and_free_items() -> None:
    schema = one({"type": "array", "min_length": 2, "max_length": 3})
    assert schema.validate({"x": [1, "a", None]}) == {"x": [1, "a", None]}
    assert problems(schema, {"x": [1]}) == [("x", "too_short")]
    assert problems(schema, {"x": [1, 2, 3, 4]}) == [("x", "too_long")]


def test_number_enum_and_integer_enum() -> None:
    assert one({"type": "number", "enum": [1, 2.5]}).validate({"x": 1.0}) == {"x": 1.0}
    assert problems(one({"type": "integer", "enum": [1, 2]}), {"x": 3}) == [("x", "not_in_enum")]


def test_string_length_counts_characters() -> None:
    schema = one({"type": "string", "max_length": 3})
    assert schema.validate({"x": "😀éa"}) == {"x": "😀éa"}
    assert problems(schema, {"x": "😀éab"}) == [("x", "too_long")]


def test_error_list_is_capped() -> None:
    schema = one({"type": "array", "items": {"type": "integer"}})
    with pytest.raises(BadRequest) as caught:
        schema.validate({"x": ["a"] * 10_000})
    details = caught.value.details
    assert len(details["errors"]) == MAX_ERRORS and details["truncated"] is True
    assert details["errors"][-1]["field"] == f"x[{MAX_ERRORS - 1}]"


# --- datetimes ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "normalized"), [
    ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000000Z"),
    ("2024-05-01T12:00:00+02:00", "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01T01:00:00+02:00", "2024-04-30T23:00:00.000000Z"),
    ("2024-05-01T12:00:00-05:30", "2024-05-01T17:30:00.000000Z"),
    ("2024-05-01T12:00:00-00:00", "2024-05-01T12:00:00.000000Z"),
    ("2024-05-01t12:00:00z", "2024-05-01T12:00:00.000000Z"),
    ("2024-05-01 12:00:00.5Z", "2024-05-01T12:00:00.500000Z"),
    ("2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.123456Z"),
    ("2024-02-29T23:59:59.999999+00:00", "2024-02-29T23:59:59.999999Z"),
    ("0999-12-31T23:00:00-02:00", "1000-01-01T01:00:00.000000Z"),
    ("0500-01-01T00:00:00Z", "0500-01-01T00:00:00.000000Z"),
    ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59.000000Z"),
])
def test_datetimes_are_normalized_to_utc(text: str, normalized: str) -> None:
    assert SCHEMA.validate({"title": "A", "due": text})["due"] == normalized


@pytest.mark.parametrize("text", [
    "2024-05-01", "2024-05-01T12:00:00", "2024-05-01T12:00Z", "2024-13-01T00:00:00Z",
    "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z",
    "2024-05-01T12:00:60Z", "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+02:60",
    "2024-05-01T12:00:00+0200", "20240501T120000Z", "2024-05-01T12:00:00.Z",
    "0000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-02:00",
    "٢٠٢٤-05-01T12:00:00Z", " 2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z\n", "",
])
def test_bad_datetimes(text: str) -> None:
    assert normalize_datetime(text) is None
    assert problems(SCHEMA, {"title": "A", "due": text}) == [("due", "invalid_datetime")]


def test_datetime_form_matches_clock_and_sorts_as_text() -> None:
    moment = datetime(2024, 5, 1, 12, 30, 15, 42, tzinfo=timezone(timedelta(hours=3)))
    assert normalize_datetime(moment.isoformat()) == clock.iso(moment)
    texts = ["2024-05-01T12:00:00+02:00", "2024-05-01T11:00:00Z", "2024-05-01T09:59:59.9-00:00",
             "1999-12-31T23:59:59-12:00", "0999-01-01T00:00:00Z"]
    normalized = [normalize_datetime(text) or "" for text in texts]
    moments = [datetime.fromisoformat(text.replace("Z", "+00:00")) for text in normalized]
    assert sorted(normalized) == [n for _, n in sorted(zip(moments, normalized, strict=True))]
    assert len({len(text) for text in normalized}) == 1


def test_datetime_objects_from_yaml() -> None:
    assert normalize_datetime(datetime(2024, 5, 1, 12)) == "2024-05-01T12:00:00.000000Z"
    aware = datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert normalize_datetime(aware) == "2024-05-01T12:00:00.000000Z"
    assert normalize_datetime(5) is None


# --- patterns ----------------------------------------------------------------------------

def test_pattern_is_searched_not_anchored() -> None:
    schema = one({"type": "string", "pattern": "[0-9]"})
    assert schema.validate({"x": "ab1"}) == {"x": "ab1"}
    with pytest.raises(BadRequest) as caught:
        schema.validate({"x": "abc"})
    assert caught.value.details["errors"][0]["message"] == "does not match the pattern [0-9]"


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^(a|aa)+$", "^(a|a?)+$", "(x+x+)+y"])
def test_catastrophic_patterns_finish_fast(pattern: str) -> None:
    schema = one({"type": "string", "pattern": pattern})
    started = time.monotonic()
    for text in ("a" * 40 + "!", "a" * 60 + "!", "x" * 5000):
        with pytest.raises(BadRequest) as caught:
            schema.validate({"x": text})
        codes = {e["code"] for e in caught.value.details["errors"]}
        assert codes <= {"pattern_timeout", "pattern_mismatch"}
    assert time.monotonic() - started < 1


def test_pattern_timeout_is_a_field_error() -> None:
    schema = one({"type": "string", "pattern": "^(a|aa)+$"})
    started = time.monotonic()
    assert problems(schema, {"x": "a" * 60 + "!"}) == [("x", "pattern_timeout")]
    assert time.monotonic() - started < 0.5


def test_pattern_time_is_bounded_per_validation() -> None:
    schema = one({"type": "array", "items": {"type": "string", "pattern": "^(a|aa)+$"}})
    started = time.monotonic()
    found = problems(schema, {"x": ["a" * 60 + "!"] * 200})
    assert time.monotonic() - started < 1
    assert len(found) == MAX_ERRORS and {code for _, code in found} == {"pattern_timeout"}


# --- definition errors -------------------------------------------------------------------

@pytest.mark.parametrize(("definition", "field", "message"), [
    ([], "", 'a schema must be an object such as {"fields": {...}}'),
    ({"fields": [], "additional_fields": "no"}, "fields",
     "must be an object mapping field names to definitions"),
    ({"fields": {}, "strict": True}, "strict",
     "is not a schema option; use fields and additional_fields"),
    ({"additional_fields": 1}, "additional_fields", "must be true or false"),
    ({"fields": {"x": "string"}}, "fields.x", 'must be an object such as {"type": "string"}'),
    ({"fields": {"x": {}}}, "fields.x.type",
     "must be one of: string, number, integer, boolean, datetime, array, object, reference"),
    ({"fields": {"x": {"type": "text"}}}, "fields.x.type", None),
    ({"fields": {"x": {"type": ["string"]}}}, "fields.x.type", None),
    ({"fields": {"x": {"type": "string", "maxLength": 3}}}, "fields.x.maxLength",
     "is not a field option"),
    ({"fields": {"x": {"type": "number", "pattern": "a"}}}, "fields.x.pattern",
     "is not an option of a number field"),
    ({"fields": {"x": {"type": "boolean", "enum": [True]}}}, "fields.x.enum", None),
    ({"fields": {"x": {"type": "string", "required": "yes"}}}, "fields.x.required",
     "must be true or false"),
    ({"fields": {"1a": {"type": "string"}}}, 'fields["1a"]', None),
    ({"fields": {"a.b": {"type": "string"}}}, 'fields["a.b"]', None),
    ({"fields": {"$where": {"type": "string"}}}, 'fields["$where"]', None),
    ({"fields": {"id": {"type": "string"}}}, "fields.id",
     "'id' is a system field set by the server; it cannot be defined"),
    ({"fields": {"version": {"type": "integer"}}}, "fields.version", None),
    ({"fields": {"x": {"type": "array", "unique": True}}}, "fields.x.unique", None),
    ({"fields": {"x": {"type": "object", "unique": True}}}, "fields.x.unique", None),
    ({"fields": {"x": {"type": "object", "fields": {"y": {"type": "string", "unique": True}}}}},
     "fields.x.fields.y.unique", None),
    ({"fields": {"x": {"type": "object", "fields": {"y": {"type": "string",
                                                          "server_owned": True}}}}},
     "fields.x.fields.y.server_owned", "only top-level fields can be server-owned"),
    ({"fields": {"x": {"type": "string", "value": "@auth.id"}}}, "fields.x.value",
     "needs server_owned: true"),
    ({"fields": {"x": {"type": "string", "server_owned": True, "value": "@auth.role"}}},
     "fields.x.value", "must be one of: @auth.id, @auth.email, @now"),
    ({"fields": {"x": {"type": "integer", "server_owned": True, "value": "@now"}}},
     "fields.x.value", "@now fills string or datetime fields, not integer"),
    ({"fields": {"x": {"type": "reference", "server_owned": True, "value": "@auth.email"}}},
     "fields.x.value", None),
    ({"fields": {"x": {"type": "number", "min": "0"}}}, "fields.x.min", "must be a number"),
    ({"fields": {"x": {"type": "number", "max": True}}}, "fields.x.max", None),
    ({"fields": {"x": {"type": "number", "max": None}}}, "fields.x.max", None),
    ({"fields": {"x": {"type": "integer", "min": 0.5}}}, "fields.x.min",
     "must be a whole number"),
    ({"fields": {"x": {"type": "integer", "min": 5, "max": 1}}}, "fields.x.min",
     "must not be greater than max"),
    ({"fields": {"x": {"type": "string", "min_length": -1}}}, "fields.x.min_length",
     "must be a whole number, 0 or more"),
    ({"fields": {"x": {"type": "string", "max_length": "3"}}}, "fields.x.max_length", None),
    ({"fields": {"x": {"type": "array", "max_length": True}}}, "fields.x.max_length", None),
    ({"fields": {"x": {"type": "array", "min_length": 3, "max_length": 2}}},
     "fields.x.min_length", "must not be greater than max_length"),
    ({"fields": {"x": {"type": "string", "pattern": "a" * 257}}}, "fields.x.pattern",
     "must be a regular expression of at most 256 characters"),
    ({"fields": {"x": {"type": "string", "pattern": ""}}}, "fields.x.pattern", None),
    ({"fields": {"x": {"type": "string", "pattern": 5}}}, "fields.x.pattern", None),
    ({"fields": {"x": {"type": "string", "enum": "a"}}}, "fields.x.enum",
     "must be a list of 1 to 100 values"),
    ({"fields": {"x": {"type": "string", "enum": []}}}, "fields.x.enum", None),
    ({"fields": {"x": {"type": "string", "enum": list(map(str, range(101)))}}},
     "fields.x.enum", None),
    ({"fields": {"x": {"type": "string", "enum": ["a", 1]}}}, "fields.x.enum[1]",
     "must be a string"),
    ({"fields": {"x": {"type": "integer", "enum": [1, None]}}}, "fields.x.enum[1]",
     "must be a whole number"),
    ({"fields": {"x": {"type": "reference", "collection": "a/b"}}}, "fields.x.collection",
     "must be a collection name"),
    ({"fields": {"x": {"type": "array", "items": {"type": "string", "max_length": -4}}}},
     "fields.x.items.max_length", None),
    ({"fields": {"x": {"type": "array", "items": {"type": "string", "required": True}}}},
     "fields.x.items.required", "is not allowed for array items"),
    ({"fields": {"x": {"type": "array", "items": {"type": "string", "default": "a"}}}},
     "fields.x.items.default", "is not allowed for array items"),
    ({"fields": {"x": {"type": "array", "items": "string"}}}, "fields.x.items", None),
    ({"fields": {"x": {"type": "object", "fields": {"y": {"type": "nope"}}}}},
     "fields.x.fields.y.type", None),
    ({"fields": {"x": {"type": "object", "fields": {"y": {"type": "string"}},
                       "additional_fields": "no"}}}, "fields.x.additional_fields", None),
    ({"fields": {"x": {"type": "string", "max_length": 2, "default": "abc"}}},
     "fields.x.default", "the default is not valid: at most 2 characters"),
    ({"fields": {"x": {"type": "string", "enum": ["a"], "default": "b"}}},
     "fields.x.default", None),
    ({"fields": {"x": {"type": "integer", "default": "1"}}}, "fields.x.default",
     "the default is not valid: must be a whole number"),
    ({"fields": {"x": {"type": "string", "pattern": "^a$", "default": "b"}}},
     "fields.x.default", "the default is not valid: does not match the pattern ^a$"),
    ({"fields": {"x": {"type": "datetime", "default": "2024-05-01"}}}, "fields.x.default", None),
    ({"fields": {"x": {"type": "string", "server_owned": True, "default": "a"}}},
     "fields.x.default", "a server-owned field cannot have a default"),
])
def test_definition_errors(definition: Any, field: str, message: str | None) -> None:
    found = definition_errors(definition)
    assert field in [f for f, _ in found], found
    if message is not None:
        assert (field, message) in found


def test_pattern_that_does_not_compile() -> None:
    [(field, message)] = definition_errors({"fields": {"x": {"type": "string", "pattern": "("}}})
    assert field == "fields.x.pattern"
    assert message.startswith("is not a valid regular expression: ")


def test_nested_default_error_has_its_path() -> None:
    found = definition_fields({"fields": {"a": {
        "type": "object", "fields": {"city": {"type": "string"}},
        "default": {"city": 5}}}})
    assert found == ["fields.a.default.city"]


def test_every_definition_problem_is_listed() -> None:
    definition = {"fields": {
        "a": {"type": "string", "max_length": -1, "min_length": "x"},
        "b": {"type": "what"},
        "id": {"type": "string"},
        "c": {"type": "array", "items": {"type": "string", "pattern": "("}},
    }, "additional_fields": None}
    assert definition_fields(definition) == [
        "fields.a.min_length", "fields.a.max_length", "fields.b.type", "fields.id",
        "fields.c.items.pattern", "additional_fields"]
    with pytest.raises(BadRequest) as caught:
        Schema.parse(definition)
    assert caught.value.message == ("the schema is not valid: fields.a.min_length: must be a "
                                    "whole number, 0 or more (and 5 more problems)")


def test_nested_system_names_are_allowed() -> None:
    schema = one({"type": "object", "fields": {"id": {"type": "string"}}})
    assert schema.validate({"x": {"id": "a"}}) == {"x": {"id": "a"}}


def nested_definition(levels: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "string"}
    for _ in range(levels - 1):
        spec = {"type": "object", "fields": {"x": spec}}
    return {"fields": {"x": spec}}


def test_nesting_is_limited_to_eight_levels() -> None:
    schema = Schema.parse(nested_definition(8))
    document: dict[str, Any] = {"x": "deep"}
    for _ in range(7):
        document = {"x": document}
    assert schema.validate(document) == document
    found = definition_fields(nested_definition(9))
    assert found == ["fields" + ".x.fields" * 8 + ".x"]
    array_nesting: dict[str, Any] = {"type": "string"}
    for _ in range(8):
        array_nesting = {"type": "array", "items": array_nesting}
    assert definition_fields({"fields": {"x": array_nesting}}) == [
        "fields.x" + ".items" * 8]


def test_very_deep_definition_does_not_recurse_forever() -> None:
    assert definition_fields(nested_definition(5000)) == ["fields" + ".x.fields" * 8 + ".x"]


def test_at_most_200_fields_in_all() -> None:
    Schema.parse({"fields": {f"f{i}": {"type": "string"} for i in range(200)}})
    found = definition_errors({"fields": {f"f{i}": {"type": "string"} for i in range(201)}})
    assert found == [("fields.f200", "a schema has at most 200 fields in all")]
    nested = {"fields": {f"f{i}": {"type": "object", "fields": {"a": {"type": "string"}}}
                         for i in range(101)}}
    assert definition_fields(nested) == ["fields.f100"]


def test_enum_and_bounds_are_normalized_by_type() -> None:
    schema = one({"type": "integer", "min": 0.0, "max": 10.0, "enum": [1.0, 2]})
    assert schema.fields["x"] == Field("integer", min=0, max=10, enum=(1, 2))


# --- server-owned and unique fields ------------------------------------------------------

def test_server_owned_and_unique_fields() -> None:
    schema = Schema.parse({"fields": {
        "owner": {"type": "reference", "server_owned": True, "value": "@auth.id",
                  "required": True},
        "at": {"type": "datetime", "server_owned": True, "value": "@now"},
        "mail": {"type": "string", "server_owned": True, "value": "@auth.email"},
        "plan": {"type": "string", "server_owned": True},
        "slug": {"type": "string", "unique": True},
        "n": {"type": "integer", "unique": True},
    }})
    assert schema.server_owned() == {"owner": "@auth.id", "at": "@now", "mail": "@auth.email",
                                     "plan": None}
    assert schema.unique_fields() == ["slug", "n"]
    assert SCHEMA.server_owned() == {"owner": "@auth.id"}
    assert SCHEMA.unique_fields() == ["email"]


OWNED = Schema.parse({"fields": {
    "title": {"type": "string"},
    "owner": {"type": "reference", "server_owned": True, "value": "@auth.id", "required": True},
    "mail": {"type": "string", "server_owned": True, "value": "@auth.email"},
    "at": {"type": "datetime", "server_owned": True, "value": "@now"},
    "plan": {"type": "string", "server_owned": True},
}})
NOW = "2024-05-01T12:00:00.000000Z"
USER = {"auth.id": "usr_1", "auth.email": "a@b.c", "now": NOW}
GUEST = {"auth.id": None, "auth.email": None, "now": NOW}


def server_error(incoming: dict[str, Any], stored: dict[str, Any] | None,
                 variables: dict[str, Any], trusted: bool = False) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        apply_server_fields(OWNED, incoming, stored, variables, trusted=trusted)
    return caught.value


def test_create_fills_server_fields() -> None:
    incoming = {"title": "a"}
    result = apply_server_fields(OWNED, incoming, None, USER, trusted=False)
    assert result == {"title": "a", "owner": "usr_1", "mail": "a@b.c", "at": NOW}
    assert incoming == {"title": "a"}
    assert OWNED.validate(result) == result


@pytest.mark.parametrize("field", ["owner", "mail", "at", "plan"])
@pytest.mark.parametrize("stored", [None, {"owner": "usr_1", "mail": "a@b.c", "plan": "pro"}])
def test_untrusted_callers_cannot_send_server_fields(field: str, stored: Any) -> None:
    value = (stored or {}).get(field, "x")  # even the stored value itself
    error = server_error({"title": "a", field: value}, stored, USER)
    assert (error.status, error.code) == (400, "server_owned_field")
    assert error.details == {"field": field}
    assert error.message == f"{field!r} is set by the server; remove it from the body"
    assert server_error({field: None}, stored, USER).code == "server_owned_field"


def test_required_server_value_needs_a_user() -> None:
    error = server_error({"title": "a"}, None, GUEST)
    assert (error.status, error.code) == (400, "auth_required")
    assert error.message == "this collection sets 'owner' from the signed-in user; sign in first"
    assert error.details == {"field": "owner", "value": "@auth.id"}
    assert server_error({}, None, {"now": NOW}).code == "auth_required"


def test_optional_server_value_that_does_not_resolve_is_left_out() -> None:
    variables = {**USER, "auth.email": None}
    result = apply_server_fields(OWNED, {}, None, variables, trusted=False)
    assert result == {"owner": "usr_1", "at": NOW}
    email_required = Schema.parse({"fields": {"mail": {
        "type": "string", "server_owned": True, "value": "@auth.email", "required": True}}})
    with pytest.raises(BadRequest) as caught:
        apply_server_fields(email_required, {}, None, {**USER, "auth.email": ""}, trusted=False)
    assert caught.value.code == "auth_required"
    assert "signed-in user's email" in caught.value.message


def test_update_keeps_stored_values() -> None:
    stored = {"title": "old", "owner": "usr_0", "at": "2020-01-01T00:00:00.000000Z"}
    result = apply_server_fields(OWNED, {"title": "new"}, stored, USER, trusted=False)
    assert result == {"title": "new", "owner": "usr_0", "at": "2020-01-01T00:00:00.000000Z"}
    # A guest may update (if rules allow) without taking or losing ownership.
    assert apply_server_fields(OWNED, {"title": "x"}, stored, GUEST, trusted=False)["owner"] \
        == "usr_0"


def test_trusted_callers_may_set_server_fields() -> None:
    result = apply_server_fields(OWNED, {"owner": "usr_9", "plan": "pro"}, None, USER,
                                 trusted=True)
    assert result == {"owner": "usr_9", "plan": "pro", "mail": "a@b.c", "at": NOW}
    stored = {"owner": "usr_0", "plan": "free"}
    assert apply_server_fields(OWNED, {"plan": "pro"}, stored, USER, trusted=True) == {
        "plan": "pro", "owner": "usr_0"}


def test_trusted_caller_without_user_gets_a_validation_error_instead() -> None:
    result = apply_server_fields(OWNED, {"title": "a"}, None, GUEST, trusted=True)
    assert result == {"title": "a", "at": NOW}
    assert problems(OWNED, result) == [("owner", "required")]


def test_no_schema_means_no_server_fields() -> None:
    incoming = {"owner": "x"}
    result = apply_server_fields(None, incoming, None, USER, trusted=False)
    assert result == incoming and result is not incoming


def test_parse_does_not_keep_references_to_the_definition() -> None:
    definition = copy.deepcopy(EXAMPLE)
    schema = Schema.parse(definition)
    definition["fields"]["status"]["enum"].append("x")
    definition["fields"]["tags"]["items"]["max_length"] = 1
    assert schema == SCHEMA
