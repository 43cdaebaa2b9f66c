"""Every tunable of subscriptions and webhook delivery, with Microsoft's documented values as defaults.

Network deadlines are real seconds; every other duration is emulated seconds on the tenant's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class NotificationSettings:
    # Subscription lifetime for presence: more than 60 minutes ahead is refused, under 45 is raised to 45.
    max_lifetime_seconds: float = 3600.0
    min_lifetime_seconds: float = 2700.0
    max_client_state_length: int = 128
    max_bulk_ids: int = 650
    # Strict mode (the real service) requires https notification URLs; loopback http is fine by default.
    require_https: bool = False
    # reauthorizationRequired cadence: the lifecycle doc's "every 15 minutes" once t=(expiry-now)/4 < 60 min,
    # which is always the case for presence. The first goes one interval after create/renew/reauthorize.
    reauthorization_interval_seconds: float = 900.0
    # Real-second network deadlines: validation handshake, first delivery attempt, retried attempts.
    validation_timeout: float = 10.0
    ack_timeout: float = 3.0
    retry_timeout: float = 10.0
    # Retries: exponential backoff from retry_base (doubling, capped at retry_max_interval) for retry_window.
    retry_base_seconds: float = 60.0
    retry_max_interval_seconds: float = 3600.0
    retry_window_seconds: float = 4 * 3600.0
    # Endpoint throttling (change-notifications-delivery-webhooks.md): in a 10-minute window, more than 10%
    # of responses over the ack deadline makes an endpoint "slow" (new notifications delayed 10 minutes);
    # more than 15% over the retry deadline makes it "drop" (notifications discarded for 10 minutes).
    # The window is judged once it holds endpoint_min_samples attempts (the older doc says 100).
    endpoint_window_seconds: float = 600.0
    endpoint_min_samples: int = 100
    slow_fraction: float = 0.10
    drop_fraction: float = 0.15
    endpoint_penalty_seconds: float = 600.0
    # Items for one URL travel together, up to this many per POST.
    max_batch_items: int = 100
    # Concurrent connections to one host:port (one in flight per URL in any case).
    connections_per_host: int = 64
    # POSTs started per event-loop iteration: a burst to many URLs goes out in slices, so API requests are
    # served between them (deliveries never hold up an API request).
    starts_per_tick: int = 16
    # Attempts kept in the delivery log (oldest dropped first).
    log_limit: int = 10_000
    # validationTokens' iat/nbf/exp: "real" (what a receiver's JWT library checks against) or "emulated".
    token_time: Literal["real", "emulated"] = "real"
