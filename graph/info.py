"""The resolver `info` type, carrying our per-request context."""

from typing import TypeAlias

import strawberry

from graph.context import RequestContext

Info: TypeAlias = strawberry.Info[RequestContext, None]
