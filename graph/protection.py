"""Query protections: size, depth, cost and alias limits, checked before anything runs.

Everything here happens while the document is parsed and validated, so a rejected operation
never reaches a resolver and never touches the database. Each rejection is a GraphQL error with
a typed `extensions.code` (and the `status` REST would use), like every other expected failure:

| code | when |
|---|---|
| `QUERY_TOO_LARGE` | the document has more lexical tokens (or comments) than `max_tokens` |
| `QUERY_TOO_DEEP` | an operation nests selection sets deeper than `max_depth` |
| `QUERY_TOO_COSTLY` | an operation's estimated cost is above `max_cost` |
| `TOO_MANY_ALIASES` | an operation uses more than `max_aliases` aliases |
| `INTROSPECTION_DISABLED` | introspection is switched off and the document asks for it |

Depth counts nested selection sets, as strawberry's `QueryDepthLimiter` does: `{ me { email } }`
has depth 1. Introspection fields (`__schema`, `__type`) are left out of depth and cost; they are
bounded instead by graphql-core's `MaxIntrospectionDepthRule` (no more than three nested
`fields`/`interfaces`/`possibleTypes`/`inputFields`), and each costs 1.

The cost model (an upper estimate of the rows a query can produce, known before it runs):
- every selected field costs 1; `__typename` is free;
- a list field with a page-size argument (`limit`, `first` or `last`) multiplies the cost of
  its selection by that argument's value (a literal or a variable's value; the value as
  requested, before the server clamps it to the list's maximum), or by `DEFAULT_PAGE_SIZE`
  when the query does not give one;
- a Relay connection (a type with `edges` and `pageInfo`) multiplies its `edges`/`nodes`
  selection that way, not its `pageInfo` or counts;
- a list field without a page-size argument (`Fact.episodes`, `Prediction.candidates`, ...)
  multiplies by `UNPAGED_LIST_SIZE`;
- fragments count once per place they are spread; fragments on different possible types of
  an interface or union all count (the estimate stays an upper bound).

Every limit applies to each operation of the document separately; a batch (several operations
in one HTTP request, see gateway/graphql_app.py) is bounded by its own limit on top.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.validation import MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from gateway.settings import Settings

DEFAULT_PAGE_SIZE = 50  # the default `limit` of most lists (REST and GraphQL alike)
UNPAGED_LIST_SIZE = 5  # a list the query cannot size: provenance edges, candidates, ...
PAGE_SIZE_ARGUMENTS = ("limit", "first", "last")
SATURATION = 10**15  # costs stop growing here: the report stays readable, the arithmetic cheap
STATUS = 400


def protection_error(
    message: str, code: str, nodes: list[Any] | None = None, **details: object
) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code, "status": STATUS, **details})


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_cost: int
    max_aliases: int
    max_tokens: int
    introspection: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            max_depth=settings.graphql_max_depth,
            max_cost=settings.graphql_max_cost,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            introspection=settings.graphql_introspection,
        )


def protection_extensions(settings: Settings) -> list[Any]:
    """The schema extensions enforcing `settings`' limits (factories: one instance per request)."""
    return [partial(QueryProtection, Limits.from_settings(settings))]


# --- measuring an operation -------------------------------------------------------------


@dataclass
class Measure:
    cost: int = 0
    depth: int = 0
    aliases: int = 0

    def add(self, other: "Measure") -> None:
        """Siblings: costs and aliases add up, the deepest one sets the depth."""
        self.cost = min(self.cost + other.cost, SATURATION)
        self.aliases += other.aliases
        self.depth = max(self.depth, other.depth)


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _is_connection(type_: Any) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


class OperationMeter:
    """Measures one operation in a single walk; each fragment is measured once per context.

    Memoising fragments keeps the walk linear in the document's size, however often (and
    however nestedly) fragments are spread: a naive walk of a fragment that spreads the next
    one twice, thirty levels deep, would take 2^30 steps.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.variable_defaults = {
            definition.variable.name.value: definition.default_value
            for definition in operation.variable_definitions or ()
        }
        self._memo: dict[tuple[str, int | None, bool], Measure] = {}
        self._in_progress: set[str] = set()

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(operation.operation)
        return self.selection_set(operation.selection_set, root, None, False)

    def selection_set(
        self,
        selection_set: SelectionSetNode,
        parent: Any,
        edge_size: int | None,
        introspection: bool,
    ) -> Measure:
        total = Measure()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total.add(self.field(selection, parent, edge_size, introspection))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                type_ = self.schema.get_type(condition.name.value) if condition else parent
                total.add(
                    self.selection_set(selection.selection_set, type_, edge_size, introspection)
                )
            elif isinstance(selection, FragmentSpreadNode):
                total.add(self.fragment(selection.name.value, edge_size, introspection))
        return total

    def fragment(self, name: str, edge_size: int | None, introspection: bool) -> Measure:
        key = (name, edge_size, introspection)
        if key in self._memo:
            return self._memo[key]
        definition = self.fragments.get(name)
        if definition is None or name in self._in_progress:
            return Measure()  # unknown fragments and cycles are reported by the spec's rules
        self._in_progress.add(name)
        try:
            type_ = self.schema.get_type(definition.type_condition.name.value)
            measure = self.selection_set(definition.selection_set, type_, edge_size, introspection)
        finally:
            self._in_progress.discard(name)
        self._memo[key] = measure
        return measure

    def field(
        self, node: FieldNode, parent: Any, edge_size: int | None, introspection: bool
    ) -> Measure:
        name = node.name.value
        aliases = 1 if node.alias else 0
        if name == "__typename":
            return Measure(aliases=aliases)
        definition = self._field_definition(parent, name)
        if node.selection_set is None:
            return Measure(cost=1, aliases=aliases)
        named = get_named_type(definition.type) if definition else None
        if introspection or name.startswith("__"):
            # Introspection reads the in-memory schema: 1 per field, no depth.
            inner = self.selection_set(node.selection_set, named, None, True)
            return Measure(cost=min(1 + inner.cost, SATURATION), aliases=aliases + inner.aliases)
        multiplier, inner_edge_size = 1, None
        if definition is not None:
            size = self._page_size(node, definition)
            if _is_connection(named):
                inner_edge_size = DEFAULT_PAGE_SIZE if size is None else size
            elif _is_list(definition.type):
                if size is not None:
                    multiplier = size
                elif edge_size is not None and name in ("edges", "nodes"):
                    multiplier = edge_size
                else:
                    multiplier = UNPAGED_LIST_SIZE
        inner = self.selection_set(node.selection_set, named, inner_edge_size, False)
        return Measure(
            cost=min(1 + multiplier * inner.cost, SATURATION),
            depth=1 + inner.depth,
            aliases=aliases + inner.aliases,
        )

    @staticmethod
    def _field_definition(parent: Any, name: str) -> GraphQLField | None:
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return parent.fields.get(name)
        return None  # unknown fields are reported by the spec's rules

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int | None:
        """The page size the query asks for; the default page size when it names none; None for
        a field that takes no page-size argument."""
        if not any(name in definition.args for name in PAGE_SIZE_ARGUMENTS):
            return None
        sizes = [
            value
            for argument in node.arguments or ()
            if argument.name.value in PAGE_SIZE_ARGUMENTS
            and (value := self._int(argument.value)) is not None
        ]
        return max(0, *sizes) if sizes else DEFAULT_PAGE_SIZE

    def _int(self, value: ValueNode | None) -> int | None:
        if isinstance(value, VariableNode):
            name = value.name.value
            given = self.variables.get(name)
            if isinstance(given, int) and not isinstance(given, bool):
                return given
            return None if name in self.variables else self._int(self.variable_defaults.get(name))
        if isinstance(value, IntValueNode):
            # Far beyond GraphQL's 32-bit Int (refused by the spec's rules anyway); Python would
            # refuse to convert thousands of digits.
            return int(value.value) if len(value.value) < 16 else SATURATION
        return None


def _operation_label(operation: OperationDefinitionNode) -> str:
    return f"operation '{operation.name.value}'" if operation.name else "the operation"


def limits_rule(limits: Limits, variables: Mapping[str, Any]) -> type[ValidationRule]:
    """A validation rule measuring each operation against `limits` (variables known)."""

    class QueryLimitsRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            fragments = {
                definition.name.value: definition
                for definition in document.definitions
                if isinstance(definition, FragmentDefinitionNode)
            }
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    self._check(definition, fragments, context)

        def _check(
            self,
            operation: OperationDefinitionNode,
            fragments: Mapping[str, FragmentDefinitionNode],
            context: ValidationContext,
        ) -> None:
            if context.schema.get_root_type(operation.operation) is None:
                return  # reported by KnownOperationTypesRule
            measure = OperationMeter(context.schema, fragments, operation, variables).operation(
                operation
            )
            label = _operation_label(operation)
            if measure.depth > limits.max_depth:
                self._report(
                    f"{label} is nested {measure.depth} levels deep; the maximum is "
                    f"{limits.max_depth}",
                    "QUERY_TOO_DEEP",
                    operation,
                    depth=measure.depth,
                    maxDepth=limits.max_depth,
                )
            if measure.cost > limits.max_cost:
                self._report(
                    f"{label} has an estimated cost of {measure.cost}; the maximum is "
                    f"{limits.max_cost} (each field costs 1; lists multiply their selection by "
                    "the page size asked for: request smaller pages or fewer nested lists)",
                    "QUERY_TOO_COSTLY",
                    operation,
                    cost=measure.cost,
                    maxCost=limits.max_cost,
                )
            if measure.aliases > limits.max_aliases:
                self._report(
                    f"{label} uses {measure.aliases} aliases; the maximum is {limits.max_aliases}",
                    "TOO_MANY_ALIASES",
                    operation,
                    aliases=measure.aliases,
                    maxAliases=limits.max_aliases,
                )

        def _report(
            self, message: str, code: str, node: OperationDefinitionNode, **details: int
        ) -> None:
            self.report_error(protection_error(message, code, [node], **details))

    return QueryLimitsRule


class IntrospectionDisabledRule(NoSchemaIntrospectionCustomRule):
    """graphql-core's rule (`__schema` and `__type` refused; `__typename` stays), with a code."""

    def report_error(self, error: GraphQLError) -> None:
        error.extensions = {"code": "INTROSPECTION_DISABLED", "status": STATUS}
        super().report_error(error)


# --- the schema extension --------------------------------------------------------------

PARSE_LIMIT_MARK = "Parsing aborted."  # graphql-core's wording for every parser limit


class QueryProtection(SchemaExtension):
    """Adds the limits to parsing and validation of every operation (HTTP and WebSocket)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_lexical_tokens"] = self.limits.max_tokens
        context.parse_options["max_comments"] = self.limits.max_tokens
        rules: list[type[ValidationRule]] = [
            limits_rule(self.limits, context.variables or {}),
            MaxIntrospectionDepthRule if self.limits.introspection else IntrospectionDisabledRule,
        ]
        context.validation_rules = (*context.validation_rules, *rules)
        yield

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if error.message.endswith(PARSE_LIMIT_MARK):
                error.extensions = {
                    "code": "QUERY_TOO_LARGE",
                    "status": STATUS,
                    "maxTokens": self.limits.max_tokens,
                }
