"""Per-provider adapters: a delivery's payload and headers in, drafts of raw memories out.

Each provider module offers `adapt(payload, headers) -> [Draft]` and
`delivery_id(payload, headers) -> str | None`, and may offer `handshake(payload, headers)`
for a set-up request that must be answered rather than stored (Slack's URL verification).
All are pure: no database, no clock except as a fallback the operation supplies.
"""

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graph.sources.adapters import drive, github, linear, notion, slack
from graph.sources.adapters.common import Draft, Headers, lower_headers, string, unknown
from models.sources import PROVIDERS

__all__ = ["ADAPTERS", "Draft", "adapt", "delivery_id", "handshake"]

GENERIC_DELIVERY_HEADER = "x-clone-delivery-id"
DELIVERY_ID_MAX = 200  # SourceDelivery.delivery_id's column width
logger = logging.getLogger(__name__)

Adapt = Callable[[dict[str, Any], Headers], list[Draft]]
DeliveryId = Callable[[dict[str, Any], Headers], str | None]
Handshake = Callable[[dict[str, Any], Headers], dict[str, Any] | None]


@dataclass(frozen=True)
class Adapter:
    label: str  # the provider's name as people write it
    adapt: Adapt
    delivery_id: DeliveryId
    handshake: Handshake | None = None


ADAPTERS: dict[str, Adapter] = {
    "github": Adapter("GitHub", github.adapt, github.delivery_id),
    "slack": Adapter("Slack", slack.adapt, slack.delivery_id, slack.handshake),
    "linear": Adapter("Linear", linear.adapt, linear.delivery_id),
    "notion": Adapter("Notion", notion.adapt, notion.delivery_id),
    "drive": Adapter("Google Drive", drive.adapt, drive.delivery_id),
}
assert set(ADAPTERS) == set(PROVIDERS), "every provider needs an adapter"


def adapt(provider: str, payload: dict[str, Any], headers: Headers) -> list[Draft]:
    """The provider's drafts; an adapter that trips over a payload stores it as unknown.

    Adapters read payloads defensively, but a sender must never see a failure because of
    what it sent, so an unexpected error degrades to the as-is row (and is logged).
    """
    adapter = ADAPTERS[provider]
    try:
        return adapter.adapt(payload, lower_headers(headers))
    except Exception:
        logger.exception("the %s adapter failed on a payload; storing it as unknown", provider)
        return unknown(provider, adapter.label, payload)


def handshake(provider: str, payload: dict[str, Any], headers: Headers) -> dict[str, Any] | None:
    """The answer to a set-up request (nothing stored), or None for a real delivery."""
    check = ADAPTERS[provider].handshake
    return check(payload, lower_headers(headers)) if check is not None else None


def delivery_id(provider: str, payload: dict[str, Any], headers: Headers, body: bytes) -> str:
    """What makes a replay a replay: the provider's id, else `X-Clone-Delivery-Id`, else a
    SHA-256 of the body (so an exact replay of an unidentified delivery stores nothing new).

    An id too long for the column, or holding a NUL or control character, is replaced by its
    own SHA-256, which keeps it unique and storable.
    """
    lowered = lower_headers(headers)
    found = ADAPTERS[provider].delivery_id(payload, lowered) or string(
        lowered.get(GENERIC_DELIVERY_HEADER)
    )
    if found is None:
        return "sha256:" + hashlib.sha256(body).hexdigest()
    if len(found) > DELIVERY_ID_MAX or not found.isprintable():
        return "sha256:" + hashlib.sha256(found.encode("utf-8", "surrogatepass")).hexdigest()
    return found
