"""Webhooks: partners and enterprises told what happened, signed the Standard Webhooks way.

An owner (a signed partner, an enterprise's signed-in user) registers endpoints for event types of its
kind (`events.PARTNER_EVENTS`, `events.ENTERPRISE_EVENTS`); the secret is shown at creation and rotation
only and sealed at rest. Other domains report what happened from inside their own transaction with

    await webhooks.events.emit(session, *, event_type: EventType, data: Mapping[str, Any],
                               partner_id: int | None = None, enterprise_id: int | None = None) -> str | None

which writes the event and one outbox delivery per subscribed, enabled endpoint in that transaction
(nothing to send if it rolls back) and answers the event's webhook-id, or None when nobody subscribed.
Payloads name things by their own ids, never a resident (no openid, nickname or public id).
Invariants: a delivery is sent at least once per event and endpoint, all attempts with the event's one
webhook-id and body, until a 2xx or its retries (`Settings.webhook_retry_s`) run out; every attempt is
kept; a committed delivery survives any restart (leases, `dispatch.py`); a URL is https outside
development and test, and public in production, at registration and at each attempt (`urls.py`).
Entry points: `events.emit`, `endpoints`, `deliveries`, `dispatch.run_once` (its loop in `tasks`).
"""
