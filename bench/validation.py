"""Events/s for decoding and validating 1,000-event ingest batches, one core.

Run: ``python bench/validation.py``. Compares, on one corpus in one run (the machines are
noisy, so only figures from the same run are comparable): JSON decoding (json, orjson), and
the validator alternatives for ``schema/events.schema.json``: (a) jsonschema on the whole
``oneOf`` (what the reference stack does), (b) jsonschema on the variant named by ``type``,
(c) fastjsonschema per variant, (d) jsonschema-rs per variant, (e) jsonschema-rs whole
``oneOf``, and the chosen ``schema.validator.validate_event``. It also checks that every
alternative takes the same accept/reject decisions as (a) on a mixed valid/invalid sample.
Runs in well under 30 s.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schema.validator import EVENT_TYPES, SCHEMA, validate_event

BATCH = 1000
SOURCES = ["desktop", "cli", "mobile", "smartglass", "agent", "integration"]


def make_event(rng: random.Random, n: int) -> dict[str, Any]:
    """One valid event of a random type, shaped like real producer traffic."""
    event_type = rng.choice(sorted(EVENT_TYPES))
    source = rng.choice(SOURCES)
    event: dict[str, Any] = {
        "id": f"evt-{n:08d}-{rng.getrandbits(48):012x}",
        "session_id": f"sess-{rng.randrange(50):04d}",
        "occurred_at": f"2026-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randrange(1000):03d}Z",
        "source": source,
        "source_detail": "github" if source == "integration" else rng.choice([None, "claude-code"]),
        "type": event_type,
    }
    extra: dict[str, dict[str, Any]] = {
        "app.focused": {"app": "Terminal", "window_title": rng.choice([None, "~/src — zsh"])},
        "capture.frame": {
            "uri": f"s3://frames/{n}.webp",
            "content_hash": rng.choice([None, f"sha256:{rng.getrandbits(128):032x}"]),
            "width": 1920,
            "height": 1080,
        },
        "input.keystroke": {
            "event_type": rng.choice(["press", "release"]),
            "modifiers": {"shift": False, "ctrl": rng.random() < 0.2, "alt": False, "meta": False},
        },
        "input.click": {"x": rng.randrange(1920), "y": rng.randrange(1080), "button": "left"},
        "input.scroll": {"x": 10, "y": 20, "delta_x": 0.0, "delta_y": rng.uniform(-10, 10)},
        "agent.prompt": {"agent": "claude-code", "prompt": "Run the tests? " * 8},
        "agent.response": {"agent": "claude-code", "response": "yes", "in_response_to": None},
    }
    event.update(extra.get(event_type, {}))
    return event


def break_event(rng: random.Random, event: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``event`` with one typical producer mistake."""
    bad = dict(event)
    mistake = rng.randrange(5)
    if mistake == 0:
        bad.pop(rng.choice(sorted(bad)))
    elif mistake == 1:
        bad["keychar"] = "a"
    elif mistake == 2:
        bad["source"] = "claude-code"
    elif mistake == 3:
        bad["occurred_at"] = "2026-05-05 12:00:00"
    else:
        bad["id"] = ""
    return bad


def rate(label: str, run: Callable[[], object], events: int, budget_s: float = 1.5) -> float:
    """Repeat ``run`` (which handles ``events`` events) for about ``budget_s``; print events/s."""
    run()  # warm up
    done, start = 0, time.perf_counter()
    while True:
        run()
        done += events
        elapsed = time.perf_counter() - start
        if elapsed >= budget_s:
            break
    per_s = done / elapsed
    print(f"  {label:<52} {per_s:>12,.0f} events/s")
    return per_s


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def variant_root(event_type: str) -> dict[str, Any]:
    root = {k: v for k, v in SCHEMA.items() if k != "oneOf"}
    root["$ref"] = f"#/$defs/{event_type}"
    return root


def decisions(check: Callable[[dict[str, Any]], bool], items: Iterable[dict[str, Any]]) -> list:
    return [check(item) for item in items]


def main() -> None:
    rng = random.Random(20260505)
    batches = [[make_event(rng, b * BATCH + i) for i in range(BATCH)] for b in range(5)]
    batch = batches[0]
    bodies = [json.dumps(b).encode() for b in batches]
    sample = [e if rng.random() < 0.5 else break_event(rng, e) for e in batches[1]]

    print(f"Python {sys.version.split()[0]}; batches of {BATCH} events, {len(bodies[0]):,} bytes")
    for dist in ("jsonschema", "fastjsonschema", "jsonschema-rs", "orjson"):
        print(f"  {dist} {version(dist)}")
    results: dict[str, float] = {}
    agree: dict[str, bool] = {}

    print("decoding a batch body")
    rate("json.loads", lambda: [json.loads(b) for b in bodies], BATCH * len(bodies))
    try:
        import orjson

        rate("orjson.loads", lambda: [orjson.loads(b) for b in bodies], BATCH * len(bodies))
    except ImportError:
        print("  orjson not installed")

    print("validating (decisions compared with (a) on 1,000 mixed valid/invalid events)")
    import jsonschema

    whole = jsonschema.Draft202012Validator(SCHEMA)
    reference = decisions(whole.is_valid, sample)
    results["(a) jsonschema, whole oneOf"] = rate(
        "(a) jsonschema, whole oneOf",
        lambda: [whole.is_valid(e) for e in batch[:200]],
        200,
    )
    agree["(a) jsonschema, whole oneOf"] = True

    py_variants = {t: jsonschema.Draft202012Validator(variant_root(t)) for t in EVENT_TYPES}

    def py_dispatch(e: dict[str, Any]) -> bool:
        validator = py_variants.get(e.get("type"))
        return validator is not None and validator.is_valid(e)

    label = "(b) jsonschema, variant named by type"
    results[label] = rate(label, lambda: [py_dispatch(e) for e in batch], BATCH)
    agree[label] = decisions(py_dispatch, sample) == reference

    try:
        import fastjsonschema

        fast = {t: fastjsonschema.compile(variant_root(t), use_formats=False) for t in EVENT_TYPES}

        def fast_dispatch(e: dict[str, Any]) -> bool:
            check = fast.get(e.get("type"))
            if check is None:
                return False
            try:
                check(e)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        label = "(c) fastjsonschema, variant named by type"
        results[label] = rate(label, lambda: [fast_dispatch(e) for e in batch], BATCH)
        agree[label] = decisions(fast_dispatch, sample) == reference
    except ImportError:
        print("  fastjsonschema not installed")

    try:
        import jsonschema_rs

        rs = {
            t: jsonschema_rs.validator_for(variant_root(t), validate_formats=False)
            for t in EVENT_TYPES
        }

        def rs_dispatch(e: dict[str, Any]) -> bool:
            validator = rs.get(e.get("type"))
            return validator is not None and validator.is_valid(e)

        label = "(d) jsonschema-rs, variant named by type"
        results[label] = rate(label, lambda: [rs_dispatch(e) for e in batch], BATCH)
        agree[label] = decisions(rs_dispatch, sample) == reference

        rs_whole = jsonschema_rs.validator_for(SCHEMA, validate_formats=False)
        label = "(e) jsonschema-rs, whole oneOf"
        results[label] = rate(label, lambda: [rs_whole.is_valid(e) for e in batch], BATCH)
        agree[label] = decisions(rs_whole.is_valid, sample) == reference

        rs_batch = jsonschema_rs.validator_for(
            {
                **{k: v for k, v in SCHEMA.items() if k != "oneOf"},
                "type": "array",
                "items": {"oneOf": SCHEMA["oneOf"]},
            },
            validate_formats=False,
        )
        # Not a real alternative (per-item results are needed), but shows the call overhead.
        label = "(e') jsonschema-rs, whole oneOf, one call per batch"
        rate(label, lambda: rs_batch.is_valid(batch), BATCH)
    except ImportError:
        print("  jsonschema-rs not installed")

    label = "chosen: schema.validator.validate_event"
    results[label] = rate(label, lambda: [validate_event(e) for e in batch], BATCH)
    agree[label] = [not validate_event(e) for e in sample] == reference
    invalid = [e for e, ok in zip(sample, reference, strict=True) if not ok]
    rate(
        "chosen, invalid events only (messages built)",
        lambda: [validate_event(e) for e in invalid],
        len(invalid),
    )

    print("same accept/reject decisions as (a):")
    for label, same in agree.items():
        print(f"  {label:<52} {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
