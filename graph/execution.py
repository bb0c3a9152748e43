"""A faster path through graphql-core for the fields that make up most of a response.

A dashboard answer holds thousands of leaf fields (an event's `type`, a candidate's
`confidence`), nearly all plain attributes of an already-loaded object. graphql-core treats
each one as a full resolution: it builds a resolve-info record, calls Strawberry's wrapper,
checks for awaitables and walks `complete_value` through the non-null and list layers before
coercing the scalar. For a field that is only "read this attribute, coerce it" that is most of
the execution time.

This context recognises those fields once per schema field (no resolver, no field extension,
no arguments, a leaf type) and does the same work directly: read the attribute with
Strawberry's default resolver, coerce it with the type's own `coerce_output_value`. An object
whose selection holds only such fields (an event's `eventId type occurredAt`) is built in one
loop. At the first value that is not plainly valid (a null, a failed coercion) the field, or
the object, takes graphql-core's ordinary path instead, which reads again (reads are side-effect
free) and reports the error exactly as it always does. Everything else (resolvers, objects,
lists, abstract types, any middleware) takes the ordinary path too.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import GraphQLField, GraphQLObjectType, Undefined
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path
from graphql.type import get_nullable_type, is_leaf_type, is_non_null_type
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField


class LeafPlan(NamedTuple):
    """How to complete one plain leaf field without a resolve-info record."""

    attribute: str
    read: Callable[[Any, str], Any]
    coerce: Callable[[Any], Any]
    non_null: bool


def _make_plan(field_def: GraphQLField) -> LeafPlan | None:
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if (
        not isinstance(definition, StrawberryField)
        # Strawberry's mark for a basic field: no resolver, no field extension
        or not getattr(field_def.resolve, "_is_default", False)
        or field_def.args
    ):
        return None
    leaf = get_nullable_type(field_def.type)
    if not is_leaf_type(leaf):
        return None
    return LeafPlan(
        attribute=definition.python_name,
        read=definition.default_resolver,
        coerce=leaf.coerce_output_value,  # type: ignore[union-attr]
        non_null=is_non_null_type(field_def.type),
    )


_DOUBT = object()  # a value the ordinary path must complete (and report)


def _complete_leaf(plan: LeafPlan, source: Any) -> Any:
    """The field's completed value, or `_DOUBT`."""
    try:
        value = plan.read(source, plan.attribute)
        if value is None:
            return _DOUBT if plan.non_null else None
        if isinstance(value, Exception):
            return _DOUBT
        coerced = plan.coerce(value)
    except Exception:
        return _DOUBT
    return _DOUBT if coerced is None or coerced is Undefined else coerced


def _complete_leaves(plans: list[tuple[str, LeafPlan]], source: Any) -> dict[str, Any] | None:
    """The object's result, or None at the first doubtful value."""
    results: dict[str, Any] = {}
    for response_name, plan in plans:
        value = _complete_leaf(plan, source)
        if value is _DOUBT:
            return None
        results[response_name] = value
    return results


# Per (type name, field name): the field's plan, or None for the ordinary path.
Plans = dict[tuple[str, str], LeafPlan | None]
PLANS_ATTRIBUTE = "_clone_leaf_plans"  # kept on the GraphQLSchema: one table per schema


class CloneExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        middleware = self.middleware_manager
        plans: Plans | None = self.schema.__dict__.get(PLANS_ATTRIBUTE)
        if plans is None:
            plans = {}
            setattr(self.schema, PLANS_ATTRIBUTE, plans)
        # Middleware must see every field: with any, everything takes the ordinary path.
        self._leaf_plans = plans if middleware is None or not middleware.middlewares else None
        # id(grouped field set) -> (the set, the plans of its fields if all are plain leaves)
        self._selections: dict[int, tuple[GroupedFieldSet, list[tuple[str, LeafPlan]] | None]] = {}

    def _leaf(self, parent_type: GraphQLObjectType, name: str) -> LeafPlan | None:
        plans = self._leaf_plans
        if plans is None:
            return None
        key = (parent_type.name, name)
        try:
            return plans[key]
        except KeyError:
            field_def = self.schema.get_field(parent_type, name)
            plan = plans[key] = _make_plan(field_def) if field_def else None
            return plan

    def _all_leaves(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[tuple[str, LeafPlan]] | None:
        """The plans of a selection made only of plain leaves (an event's `eventId type
        occurredAt`), or None. graphql-core memoizes a selection per request, so its identity
        keys this cache."""
        key = id(grouped_field_set)
        cached = self._selections.get(key)
        if cached is not None and cached[0] is grouped_field_set:
            return cached[1]
        plans: list[tuple[str, LeafPlan]] | None = []
        for response_name, field_details_list in grouped_field_set.items():
            leaf = self._leaf(parent_type, field_details_list[0].node.name.value)
            if leaf is None:
                plans = None
                break
            plans.append((response_name, leaf))
        self._selections[key] = (grouped_field_set, plans)
        return plans

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any = None,
    ) -> Any:
        """An object whose selected fields are all plain leaves is built in one loop, with no
        per-field path or awaitable checks; at the first value that is not plainly valid the
        ordinary path runs instead (reads are side-effect free), and reports the error."""
        plans = self._all_leaves(parent_type, grouped_field_set)
        if plans is not None:
            results = _complete_leaves(plans, source_value)
            if results is not None:
                return results
        return super().execute_fields(
            parent_type, source_value, path, grouped_field_set, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        leaf = self._leaf(parent_type, field_details_list[0].node.name.value)
        if leaf is not None:
            value = _complete_leaf(leaf, source)
            if value is not _DOUBT:
                return value
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
