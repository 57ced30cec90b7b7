"""The double-entry ledger of CO₂e credit, in integer grams.

Invariants (each backed by tests and, where it can be, by the database itself):
1. every transfer moves a positive amount between two accounts and writes two entries summing to zero,
   so the sum of all balances is zero;
2. transfers and entries are append-only (triggers refuse UPDATE, DELETE and TRUNCATE); a correction is a
   new, linked reversal;
3. resident and enterprise balances never go negative (CHECK), and change in the same transaction as
   their entries;
4. every issuance points at its behaviour and factor version;
5. issuance is spread over slot accounts whose balances are derived from entries: no hot row.
Entry points: `posting.Recorder` (the hot path), `service.resident_balance`, `service.reverse`,
`service.review`, `lots` (moving credits by lot), `expiry.run_once` (its loop is in `tasks`),
`history.resident_entries` (a resident's entries, for administrators).
"""
