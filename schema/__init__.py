"""CloneEvent schema (schema/events.schema.json) and its fast validator."""

from schema.validator import EVENT_TYPES, MAX_ERRORS_PER_ITEM, validate_event

__all__ = ["EVENT_TYPES", "MAX_ERRORS_PER_ITEM", "validate_event"]
