"""The GraphQL face and the domain operations both faces call, one sub-package per domain."""
