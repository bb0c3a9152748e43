"""graph/execution.py completes plain leaf fields itself: its answers, errors included, must be
exactly graphql-core's."""

from typing import Any

import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from graph.execution import CloneExecutionContext


@strawberry.type
class Reading:
    name: str
    note: str | None
    count: int
    ratio: float


@strawberry.type
class Holder:
    label: str
    readings: list[Reading]

    @strawberry.field
    def shout(self) -> str:
        return self.label.upper()


@strawberry.type
class Query:
    @strawberry.field
    def holders(self) -> list[Holder]:
        return [
            Holder(label="a", readings=[Reading(name="x", note=None, count=1, ratio=0.5)] * 3),
            Holder(label="b", readings=[]),
        ]

    @strawberry.field
    def broken(self) -> list[Reading | None]:
        """A null in a non-null leaf, an Int out of range, a float where Int is due."""
        return [
            Reading(name=None, note="n", count=1, ratio=1.0),  # type: ignore[arg-type]
            Reading(name="ok", note=None, count=2**40, ratio=1.0),
            Reading(name="ok", note=None, count=1.5, ratio=1.0),  # type: ignore[arg-type]
            Reading(name="fine", note="y", count=3, ratio=2.0),
        ]


def _schemas(**kwargs: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    ours = strawberry.Schema(query=Query, execution_context_class=CloneExecutionContext, **kwargs)
    reference = strawberry.Schema(query=Query, **kwargs)
    return ours, reference


def _answer(schema: strawberry.Schema, query: str) -> tuple[Any, list[tuple[str, Any]]]:
    result = schema.execute_sync(query)
    errors = [(error.message, error.path) for error in result.errors or ()]
    return result.data, sorted(errors, key=repr)


@pytest.mark.parametrize(
    "query",
    [
        "{ holders { label shout readings { name note count ratio } } }",
        "{ holders { label readings { __typename name alias: count count } } }",
        "{ holders { readings { name @skip(if: true) count } } }",
        "{ broken { name note count } }",
        "{ broken { note ratio } }",
    ],
)
def test_same_answer_as_graphql_core(query):
    ours, reference = _schemas()
    assert _answer(ours, query) == _answer(reference, query)


def test_errors_are_located_and_null_propagates():
    ours, _ = _schemas()
    data, errors = _answer(ours, "{ broken { name count } }")
    assert data == {"broken": [None, None, None, {"name": "fine", "count": 3}]}
    messages = dict((tuple(path), message) for message, path in errors)
    assert (
        messages[("broken", 0, "name")] == "Cannot return null for non-nullable field Reading.name."
    )
    assert "cannot represent non 32-bit signed integer" in messages[("broken", 1, "count")]
    assert "cannot represent non-integer value" in messages[("broken", 2, "count")]


def test_a_resolve_hook_still_sees_every_leaf():
    seen: list[str] = []

    class Watch(SchemaExtension):
        def resolve(self, _next, root, info, *args, **kwargs):
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    ours, reference = _schemas(extensions=[Watch])
    query = "{ holders { label readings { name count } } }"
    answers = []
    for schema in (ours, reference):
        seen.clear()
        answers.append((_answer(schema, query), list(seen)))
    assert answers[0] == answers[1]
    assert answers[0][1].count("name") == 3


def test_plain_leaf_objects_take_the_fast_path(monkeypatch):
    """Guards the optimisation itself: the comparisons above would pass without it."""
    from graph import execution

    built = []
    original = execution._complete_leaves

    def counting(plans, source):
        result = original(plans, source)
        built.append(result)
        return result

    monkeypatch.setattr(execution, "_complete_leaves", counting)
    ours, _ = _schemas()
    _answer(ours, "{ holders { label readings { name count } } }")
    assert built == [{"name": "x", "count": 1}] * 3
