"""The CloneEvent schema (SPEC §4, §10) and its fast validator ``schema.validator``.

Plain synchronous tests: no fixtures, no database. The corpus test at the end checks that the
fast path takes exactly the decisions of the reference (the Python ``jsonschema`` package
validating the whole ``oneOf``, as Clone's own stack does).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from typing import Any

import jsonschema
import pytest

from schema.validator import EVENT_TYPES, MAX_ERRORS_PER_ITEM, SCHEMA, validate_event

BASE: dict[str, Any] = {
    "id": "evt-1",
    "session_id": "sess-1",
    "occurred_at": "2026-05-05T12:00:00Z",
    "source": "desktop",
    "source_detail": None,
}
EXTRA: dict[str, dict[str, Any]] = {
    "session.started": {},
    "session.stopped": {},
    "app.focused": {"app": "Terminal", "window_title": "zsh"},
    "capture.frame": {
        "uri": "s3://frames/1.webp",
        "content_hash": "sha256:abc",
        "width": 1920,
        "height": 1080,
    },
    "input.keystroke": {
        "event_type": "press",
        "modifiers": {"shift": False, "ctrl": True, "alt": False, "meta": False},
    },
    "input.click": {"x": 0, "y": 10, "button": "left"},
    "input.scroll": {"x": 5, "y": 0, "delta_x": 0, "delta_y": -3.5},
    "agent.prompt": {"agent": "claude-code", "prompt": "Run the tests?"},
    "agent.response": {"agent": "claude-code", "response": "yes", "in_response_to": "evt-0"},
}
NULLABLE = {
    "app.focused": ["window_title"],
    "capture.frame": ["content_hash"],
    "agent.response": ["in_response_to"],
}


def event(event_type: str, /, **changes: Any) -> dict[str, Any]:
    """A valid event of ``event_type`` (deep copy), with ``changes`` applied."""
    item = copy.deepcopy({**BASE, "type": event_type, **EXTRA[event_type]})
    item.update(changes)
    return item


def without(item: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != field}


def assert_rejected(item: object, *expected: str) -> list[str]:
    errors = validate_event(item)
    assert errors, f"accepted: {item!r}"
    assert 1 <= len(errors) <= MAX_ERRORS_PER_ITEM
    assert all(isinstance(e, str) and e for e in errors)
    for text in expected:
        assert any(text in e for e in errors), f"{text!r} not in {errors}"
    return errors


# --- the schema document itself


def test_schema_is_valid_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_event_types_are_the_nine_of_the_spec() -> None:
    assert frozenset(EXTRA) == EVENT_TYPES
    assert len(SCHEMA["oneOf"]) == 9


@pytest.mark.parametrize("event_type", sorted(EXTRA))
def test_every_variant_is_closed_and_requires_every_field(event_type: str) -> None:
    variant = SCHEMA["$defs"][event_type]
    assert variant["additionalProperties"] is False
    assert set(variant["required"]) == set(variant["properties"])
    expected = {*BASE, "type", *EXTRA[event_type]}
    assert set(variant["properties"]) == expected


# --- valid events


@pytest.mark.parametrize("event_type", sorted(EXTRA))
def test_valid_example_of_each_type_is_accepted(event_type: str) -> None:
    assert validate_event(event(event_type)) == []


@pytest.mark.parametrize("source", ["desktop", "cli", "mobile", "smartglass", "agent"])
def test_every_source_is_accepted_with_or_without_detail(source: str) -> None:
    assert validate_event(event("session.started", source=source)) == []
    assert validate_event(event("session.started", source=source, source_detail="x")) == []


def test_integration_with_detail_is_accepted() -> None:
    assert validate_event(event("agent.prompt", source="integration", source_detail="github")) == []


def test_limits_that_are_still_valid() -> None:
    assert validate_event(event("session.started", id="x" * 200, session_id="s" * 200)) == []
    assert validate_event(event("capture.frame", width=1, height=1)) == []
    assert validate_event(event("input.click", x=0, y=0, button="middle")) == []
    assert validate_event(event("input.scroll", delta_x=-1e9, delta_y=0.25)) == []
    assert validate_event(event("agent.prompt", prompt="")) == []  # prompt has no minimum
    assert validate_event(event("agent.response", response="")) == []
    # JSON Schema 2020-12: a number with a zero fractional part is an integer.
    assert validate_event(event("capture.frame", width=640.0)) == []


# --- missing and unknown fields

REQUIRED_FIELDS = [(t, f) for t in sorted(EXTRA) for f in event(t)]


@pytest.mark.parametrize(("event_type", "field"), REQUIRED_FIELDS)
def test_each_missing_required_field_is_named(event_type: str, field: str) -> None:
    item = without(event(event_type), field)
    if field == "type":
        assert_rejected(item, "type: required field is missing", "agent.prompt")
    else:
        (message,) = assert_rejected(item)
        assert message.startswith(f"{field}: required field is missing")


@pytest.mark.parametrize("key", ["shift", "ctrl", "alt", "meta"])
def test_each_modifier_is_required(key: str) -> None:
    modifiers = {"shift": False, "ctrl": False, "alt": False, "meta": False}
    del modifiers[key]
    assert_rejected(event("input.keystroke", modifiers=modifiers), f"modifiers.{key}: required")


@pytest.mark.parametrize("event_type", sorted(EXTRA))
def test_unknown_field_is_rejected(event_type: str) -> None:
    assert assert_rejected(event(event_type, colour="red")) == ["colour: unknown field"]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES - {"input.keystroke"}))
@pytest.mark.parametrize("field", ["keychar", "keycode"])
def test_keychar_and_keycode_are_unknown_on_other_types(event_type: str, field: str) -> None:
    assert assert_rejected(event(event_type, **{field: "a"})) == [f"{field}: unknown field"]


def test_keychar_on_a_keystroke_is_unknown_to_the_schema() -> None:
    # The ingest code strips keychar/keycode from keystrokes *before* validation (SPEC §3);
    # the schema itself never allows them.
    assert_rejected(event("input.keystroke", keychar="a"), "keychar: unknown field")


def test_unknown_modifier_is_rejected() -> None:
    modifiers = {"shift": False, "ctrl": False, "alt": False, "meta": False, "fn": True}
    assert_rejected(event("input.keystroke", modifiers=modifiers), "modifiers.fn: unknown field")


def test_fields_of_another_variant_are_unknown() -> None:
    assert_rejected(event("session.started", app="Terminal"), "app: unknown field")


# --- wrong values

WRONG_VALUES = [
    ("session.started", "id", "", "id: must be a string of 1 to 200 characters"),
    ("session.started", "id", "x" * 201, "id: must be a string of 1 to 200 characters"),
    ("session.started", "id", 17, "id: must be a string"),
    ("session.started", "session_id", "", "session_id: must be a string of 1 to 200"),
    ("session.started", "session_id", None, "session_id: must be a string"),
    ("session.started", "source", "laptop", "source: 'laptop' is not a valid source"),
    ("session.started", "source", None, "source: null is not a valid source"),
    ("session.started", "source_detail", 3, "source_detail: must be a string or null"),
    ("app.focused", "app", "", "app: must be a non-empty string"),
    ("app.focused", "app", None, "app: must be a non-empty string"),
    ("app.focused", "window_title", 5, "window_title: must be a string or null"),
    ("capture.frame", "uri", "", "uri: must be a non-empty string"),
    ("capture.frame", "content_hash", [], "content_hash: must be a string or null"),
    ("capture.frame", "width", 0, "width: must be an integer >= 1"),
    ("capture.frame", "width", "640", "width: must be an integer >= 1"),
    ("capture.frame", "width", 640.5, "width: must be an integer >= 1"),
    ("capture.frame", "width", True, "width: must be an integer >= 1"),
    ("capture.frame", "height", -1, "height: must be an integer >= 1"),
    ("capture.frame", "height", None, "height: must be an integer >= 1"),
    ("input.keystroke", "event_type", "hold", "event_type: 'hold' is not a valid event_type"),
    ("input.keystroke", "event_type", "PRESS", "(one of press, release)"),
    ("input.keystroke", "modifiers", None, "modifiers: must be an object with exactly the"),
    ("input.keystroke", "modifiers", [], "modifiers: must be an object"),
    ("input.click", "x", -1, "x: must be an integer >= 0"),
    ("input.click", "y", 1.5, "y: must be an integer >= 0"),
    ("input.click", "y", "10", "y: must be an integer >= 0"),
    ("input.click", "button", "back", "button: 'back' is not a valid button (one of left,"),
    ("input.scroll", "x", -5, "x: must be an integer >= 0"),
    ("input.scroll", "delta_x", "1", "delta_x: must be a number"),
    ("input.scroll", "delta_y", None, "delta_y: must be a number"),
    ("input.scroll", "delta_y", False, "delta_y: must be a number"),
    ("agent.prompt", "agent", "", "agent: must be a non-empty string"),
    ("agent.prompt", "prompt", None, "prompt: must be a string"),
    ("agent.response", "response", 42, "response: must be a string"),
    ("agent.response", "in_response_to", 42, "in_response_to: must be a string or null"),
    ("session.stopped", "type", "session.ended", "type: 'session.ended' is not a valid event"),
]


@pytest.mark.parametrize(("event_type", "field", "value", "message"), WRONG_VALUES)
def test_wrong_value_is_rejected_with_a_message_naming_the_field(
    event_type: str, field: str, value: Any, message: str
) -> None:
    assert_rejected(event(event_type, **{field: value}), message)


@pytest.mark.parametrize("key", ["shift", "ctrl", "alt", "meta"])
def test_modifiers_must_be_booleans(key: str) -> None:
    modifiers = {"shift": False, "ctrl": False, "alt": False, "meta": False, key: 1}
    assert assert_rejected(event("input.keystroke", modifiers=modifiers)) == [
        f"modifiers.{key}: must be a boolean (got 1)"
    ]


def test_wrong_value_message_quotes_what_was_received() -> None:
    assert validate_event(event("capture.frame", width=0)) == [
        "width: must be an integer >= 1 (got 0)"
    ]


# --- source and source_detail


def test_producer_name_in_source_points_to_source_detail() -> None:
    (message,) = assert_rejected(event("agent.prompt", source="claude-code"))
    assert message == (
        "source: 'claude-code' is not a valid source (one of agent, cli, desktop, integration, "
        "mobile, smartglass); a producer name such as 'claude-code' belongs in source_detail"
    )


@pytest.mark.parametrize("source", ["Desktop", "CLI"])
def test_source_in_the_wrong_case_suggests_the_right_one(source: str) -> None:
    (message,) = assert_rejected(event("agent.prompt", source=source))
    assert message.endswith(f"; did you mean {source.lower()!r}?")


@pytest.mark.parametrize("detail", [None, ""])
def test_integration_needs_a_non_empty_source_detail(detail: str | None) -> None:
    item = event("session.started", source="integration", source_detail=detail)
    (message,) = assert_rejected(item, "source_detail: must be a non-empty string")
    assert "integration" in message


def test_integration_without_source_detail_names_it() -> None:
    item = without(event("session.started", source="integration"), "source_detail")
    assert assert_rejected(item) == [
        "source_detail: required field is missing (it may be null, but must be present)"
    ]


def test_empty_source_detail_is_fine_outside_integrations() -> None:
    # SPEC §4 asks for non-empty only when source is integration.
    assert validate_event(event("session.started", source_detail="")) == []


# --- nullable fields

NULLABLE_FIELDS = [(t, f) for t, fields in NULLABLE.items() for f in fields] + [
    (t, "source_detail") for t in sorted(EXTRA)
]


@pytest.mark.parametrize(("event_type", "field"), NULLABLE_FIELDS)
def test_nullable_field_accepts_null_but_must_be_present(event_type: str, field: str) -> None:
    assert validate_event(event(event_type, **{field: None})) == []
    assert assert_rejected(without(event(event_type), field)) == [
        f"{field}: required field is missing (it may be null, but must be present)"
    ]


@pytest.mark.parametrize(
    ("event_type", "field"),
    [("app.focused", "app"), ("capture.frame", "uri"), ("agent.prompt", "agent")],
)
def test_non_nullable_field_rejects_null(event_type: str, field: str) -> None:
    assert_rejected(event(event_type, **{field: None}), f"{field}: must be")


# --- occurred_at

GOOD_DATE_TIMES = [
    "2026-05-05T12:00:00Z",
    "2026-05-05T12:00:00.1Z",
    "2026-05-05T12:00:00.123456789Z",
    "2026-05-05T12:00:00+00:00",
    "2026-05-05T12:00:00-00:00",
    "2026-05-05T23:59:59.5+05:30",
    "2026-05-05T00:00:00-12:00",
    "2024-02-29T00:00:00Z",
    "2000-02-29T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
]
BAD_DATE_TIMES = [
    "yesterday",
    "",
    "2026-05-05",
    "2026-05-05T12:00:00",  # no timezone
    "2026-05-05T12:00:00.123",  # no timezone
    "2026-05-05 12:00:00Z",  # space instead of T
    "2026-05-05t12:00:00Z",  # lower-case t
    "2026-05-05T12:00:00z",  # lower-case z
    "2026-05-05T12:00Z",  # no seconds
    "2026-05-05T12:00:00+0530",  # offset without colon
    "2026-05-05T12:00:00+05",
    "2026-05-05T12:00:00+24:00",
    "2026-05-05T12:00:00.Z",
    "2026-05-05T12:00:00.1234567890Z",  # more than nanoseconds
    "2026-05-05T24:00:00Z",
    "2026-05-05T12:60:00Z",
    "2026-12-31T23:59:60Z",  # leap second: no datetime library can hold it
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-05-00T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "26-05-05T12:00:00Z",
    "+2026-05-05T12:00:00Z",
    "2026-05-05T12:00:00Z ",
    " 2026-05-05T12:00:00Z",
    "2026-05-05T12:00:00Z\n",
    "2026-05-05T12:00:00ZZ",
    "٢٠٢٦-05-05T12:00:00Z",  # Arabic-Indic digits
]


@pytest.mark.parametrize("value", GOOD_DATE_TIMES)
def test_rfc3339_date_times_are_accepted(value: str) -> None:
    assert validate_event(event("session.started", occurred_at=value)) == []


@pytest.mark.parametrize("value", BAD_DATE_TIMES)
def test_malformed_or_naive_date_times_are_rejected(value: str) -> None:
    (message,) = assert_rejected(event("session.started", occurred_at=value))
    assert message.startswith(f"occurred_at: {value!r} is not a valid RFC 3339 date-time")


@pytest.mark.parametrize("value", [None, 1714910400, {"t": 1}])
def test_non_string_occurred_at_is_rejected(value: Any) -> None:
    assert_rejected(event("session.started", occurred_at=value), "occurred_at: must be an RFC")


@pytest.mark.parametrize("year", [1600, 1700, 1900, 1996, 2000, 2023, 2024, 2100, 2400])
def test_calendar_dates_agree_with_python(year: int) -> None:
    """The pattern knows month lengths and leap years exactly as ``datetime`` does."""
    for month in range(0, 14):
        for day in range(0, 33):
            text = f"{year:04d}-{month:02d}-{day:02d}T08:30:00+01:00"
            try:
                dt.datetime.fromisoformat(text)
                real = True
            except ValueError:
                real = False
            accepted = not validate_event(event("session.started", occurred_at=text))
            assert accepted == real, text


def test_accepted_date_times_parse_with_the_standard_library() -> None:
    for value in GOOD_DATE_TIMES:
        parsed = dt.datetime.fromisoformat(value)
        assert parsed.tzinfo is not None


# --- not an object, no type, many errors


@pytest.mark.parametrize("item", [[], [BASE], "event", 3, 2.5, True, None])
def test_non_objects_are_rejected(item: object) -> None:
    assert validate_event(item) == ["event must be a JSON object"]


@pytest.mark.parametrize("value", ["session.start", "", None, 3, ["app.focused"], {"a": 1}])
def test_unknown_type_lists_the_valid_types(value: Any) -> None:
    (message,) = assert_rejected(event("session.started", type=value))
    assert message.startswith("type: ")
    assert all(t in message for t in EVENT_TYPES)


def test_empty_object_names_the_type() -> None:
    (message,) = assert_rejected({})
    assert message.startswith("type: required field is missing; must be one of ")


def test_badly_broken_item_gets_at_most_three_messages_in_field_order() -> None:
    item = {
        "type": "capture.frame",
        "id": "",
        "occurred_at": "now",
        "source": "claude-code",
        "width": -1,
        "height": "big",
        "keychar": "a",
        "extra": 1,
    }
    assert validate_event(item) == [
        "id: must be a string of 1 to 200 characters (got '')",
        "session_id: required field is missing",
        "occurred_at: 'now' is not a valid RFC 3339 date-time with a timezone "
        "(e.g. 2026-05-05T12:00:00Z)",
    ]


def test_unknown_fields_come_after_the_known_ones() -> None:
    item = event("input.click", x=-1, extra=1)
    assert validate_event(item) == ["x: must be an integer >= 0 (got -1)", "extra: unknown field"]


def test_long_values_are_shortened_in_messages() -> None:
    (message,) = assert_rejected(event("session.started", id="x" * 5000))
    assert len(message) < 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred_at": "\ud800"}, "occurred_at: "),
        ({"source": "\ud800"}, "source: "),
        ({"type": "\ud800"}, "type: "),
        ({"\ud800": 1}, ""),
        ({"extra": {"\udc00": "\ud800"}}, "extra"),
    ],
)
def test_lone_surrogates_do_not_raise_and_messages_stay_encodable(
    changes: dict[str, Any], field: str
) -> None:
    # orjson refuses these when decoding; json.loads lets "\ud800" through. Where the engine
    # meets one, the event is rejected, and no message carries the surrogate itself.
    errors = assert_rejected({**event("session.started"), **changes})
    assert errors[0].startswith(field)
    "".join(errors).encode("utf-8")


def test_validation_does_not_mutate_the_item() -> None:
    item = event("input.keystroke", keychar="a")
    before = copy.deepcopy(item)
    validate_event(item)
    assert item == before


# --- the fast path agrees with the reference on a generated corpus

WRONG_POOL: list[Any] = [
    None,
    "",
    "x",
    "claude-code",
    "integration",
    "press",
    "release",
    "left",
    "middle",
    "right",
    "smartglass",
    "2026-05-05T12:00:00",
    "2026-02-30T12:00:00Z",
    "2026-05-05T12:00:00+02:00",
    0,
    -1,
    1,
    7,
    1.5,
    2.0,
    10**20,
    True,
    False,
    [],
    {},
    {"shift": True, "ctrl": True, "alt": True, "meta": True},
    "x" * 200,
    "x" * 201,
    "1",
    1.0,
]


def random_event(rng: random.Random, n: int) -> dict[str, Any]:
    event_type = rng.choice(sorted(EXTRA))
    item = event(event_type, id=f"e{n}", session_id=f"s{rng.randrange(20)}")
    source = rng.choice(["desktop", "cli", "mobile", "smartglass", "agent", "integration"])
    item["source"] = source
    item["source_detail"] = "github" if source == "integration" else rng.choice([None, "x"])
    for field in NULLABLE.get(event_type, []):
        if rng.random() < 0.5:
            item[field] = None
    item["occurred_at"] = rng.choice(GOOD_DATE_TIMES)
    return item


def mutate(rng: random.Random, item: dict[str, Any]) -> dict[str, Any]:
    """Apply 1-3 random mutations; the result may or may not still be valid."""
    item = copy.deepcopy(item)
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(8)
        fields = sorted(item)
        if choice == 0 and fields:
            del item[rng.choice(fields)]
        elif choice == 1:
            item[rng.choice(["keychar", "keycode", "extra", "app", "x", "width"])] = rng.choice(
                WRONG_POOL
            )
        elif choice == 2 and fields:
            item[rng.choice(fields)] = rng.choice(WRONG_POOL)
        elif choice == 3:
            item["type"] = rng.choice([*sorted(EXTRA), "session.start", None])
        elif choice == 4:
            item["source"] = rng.choice(["claude-code", "integration", "desktop", "", None])
        elif choice == 5:
            item["occurred_at"] = rng.choice(BAD_DATE_TIMES[:-3] + GOOD_DATE_TIMES)
        elif choice == 6 and isinstance(item.get("modifiers"), dict):
            key = rng.choice(["shift", "ctrl", "alt", "meta", "fn"])
            if rng.random() < 0.5:
                item["modifiers"].pop(key, None)
            else:
                item["modifiers"][key] = rng.choice(WRONG_POOL)
        else:
            item["source_detail"] = rng.choice([None, "", "github", 0])
    return item


def systematic_mutations() -> list[dict[str, Any]]:
    """Every field of every variant set to every value of ``WRONG_POOL``, deleted, and more."""
    out: list[dict[str, Any]] = []
    for event_type in sorted(EXTRA):
        valid = event(event_type)
        for field in valid:
            out.append(without(valid, field))
            out.extend(event(event_type, **{field: value}) for value in WRONG_POOL)
        out.extend(event(event_type, **{field: "a"}) for field in ("keychar", "keycode", "x"))
        out.append(event(event_type, source="integration", source_detail=None))
        out.append(event(event_type, source="integration", source_detail=""))
    modifiers = EXTRA["input.keystroke"]["modifiers"]
    for key in [*modifiers, "fn"]:
        out.append(event("input.keystroke", modifiers=without(modifiers, key)))
        for value in WRONG_POOL:
            out.append(event("input.keystroke", modifiers={**modifiers, key: value}))
    return out


def test_fast_path_agrees_with_jsonschema_whole_oneof_on_a_generated_corpus() -> None:
    """Same accept/reject decisions as the reference, on about 4,000 events.

    The corpus: 1,000 random valid events, each also with 1-3 random mutations, and every
    field of every variant set to each value of a pool of near-misses (seeded, deterministic).
    Left out on purpose: strings ending in a newline, where Python's ``re`` (used by the
    reference) lets ``$`` match before a final newline but ECMA-262 and Rust do not (the
    fast path rejects them, as the schema means), and lone surrogates / NaN, which a strict
    JSON decoder (orjson) never produces.
    """
    rng = random.Random(1234)
    reference = jsonschema.Draft202012Validator(SCHEMA)
    corpus = [random_event(rng, n) for n in range(1000)]
    corpus += [mutate(rng, item) for item in corpus]
    corpus += systematic_mutations()
    # Through a JSON round trip, as the gateway sees them.
    corpus = [json.loads(json.dumps(item)) for item in corpus]

    outcomes = {True: 0, False: 0}
    for item in corpus:
        errors = validate_event(item)
        expected = reference.is_valid(item)
        assert (not errors) == expected, (item, errors)
        assert len(errors) <= MAX_ERRORS_PER_ITEM
        outcomes[expected] += 1
    assert len(corpus) > 3500
    assert outcomes[True] > 1000
    assert outcomes[False] > 2000
