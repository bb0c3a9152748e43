"""A faster path through graphql-core for the fields that make up most of a response.

A dashboard answer holds thousands of leaf fields (an event's `type`, a candidate's
`confidence`), nearly all plain attributes of an already-loaded object. graphql-core treats
each one as a full resolution: it builds a resolve-info record, calls Strawberry's wrapper,
checks for awaitables and walks `complete_value` through the non-null and list layers before
coercing the scalar. For a field that is only "read this attribute, coerce it" that is most of
the execution time.

This context recognises those fields once per schema field (no resolver, no field extension,
no arguments, a leaf type) and does exactly the same work directly: read the attribute with
Strawberry's default resolver, refuse a null for a non-null field, coerce with the type's own
`coerce_output_value`. Errors go through graphql-core's own `handle_field_error`, so their
messages, paths and null propagation are unchanged. Everything else (resolvers, objects,
lists, abstract types, any middleware) takes graphql-core's ordinary path.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

from graphql import GraphQLField, GraphQLObjectType, Undefined
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path, inspect
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
    label: str  # "Type.field", for the non-null error message graphql-core would give


# id(GraphQLField) -> (the field itself, to rule out a reused id; its plan or None)
_plans: dict[int, tuple[GraphQLField, LeafPlan | None]] = {}


def _plan(parent_type: GraphQLObjectType, name: str, field_def: GraphQLField) -> LeafPlan | None:
    cached = _plans.get(id(field_def))
    if cached is not None and cached[0] is field_def:
        return cached[1]
    plan = _make_plan(parent_type, name, field_def)
    _plans[id(field_def)] = (field_def, plan)
    return plan


def _make_plan(
    parent_type: GraphQLObjectType, name: str, field_def: GraphQLField
) -> LeafPlan | None:
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field_def.resolve
    if (
        not isinstance(definition, StrawberryField)
        or resolve is None
        or not getattr(resolve, "_is_default", False)  # Strawberry's mark for a basic field
        or not definition.is_basic_field
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
        label=f"{parent_type.name}.{name}",
    )


class CloneExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: FieldDetailsList,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        name = field_details_list[0].node.name.value
        field_def = self.schema.get_field(parent_type, name)
        middleware = self.middleware_manager
        plan = (
            _plan(parent_type, name, field_def)
            if field_def is not None and (middleware is None or not middleware.middlewares)
            else None
        )
        if plan is None:
            return super().execute_field(
                parent_type, source, field_details_list, path, position_context
            )
        try:
            value = plan.read(source, plan.attribute)
            if value is None or value is Undefined:
                if plan.non_null:
                    raise TypeError(f"Cannot return null for non-nullable field {plan.label}.")
                return None
            if isinstance(value, Exception):
                raise value
            coerced = plan.coerce(value)
            if coerced is Undefined or coerced is None:
                raise TypeError(
                    f"Expected `{inspect(get_nullable_type(field_def.type))}"
                    f".coerce_output_value({inspect(value)})` to return non-nullable value,"
                    f" returned: {inspect(coerced)}"
                )
            return coerced
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None
