"""Behaviour records: residents' reports and partners' signed batches become credits.

Invariants: a record is checked against its type's rules (range, speed, claim window, unit, category)
in memory before the database is touched; one idempotency key records once (same content: the original
result; other content: 409), backed by unique constraints; a trip is credited once, whoever reports it;
caps per type, resident, day and year — and the platform's daily budget — hold under concurrency because
the ledger's posting applies them under the resident's row lock.
Entry points: `reports.report` (a resident's report, the hot path), `batches.submit` (a partner's batch),
`review.decide`, `reading` (history), `flags` (the fraud-flag queue), `fraud.scan_once` (the scan; its
loop is in `tasks`), `personal` (a resident's evidence and times, erased, exported and coarsened for the
privacy domain).
"""
