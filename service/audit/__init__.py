"""Audit: what lets anyone show that every gram is real.

Invariants: the log's leaves, subtrees and checkpoints refuse UPDATE, DELETE and TRUNCATE; one leader
seals, only up to the settled horizon, so no entry can still commit below the sealed mark; every leaf
is the hash of `receipt_verifier.leaf_line` of its entry, which anyone can check offline.
Entry points: `sealer.seal_once` (one leader-elected step; its loop is in `tasks`) turns committed ledger
entries into an append-only RFC 6962 Merkle log with Ed25519-signed checkpoints; `receipts`: inclusion
receipts, checkpoints, consistency proofs and the signing key; `receipt_verifier`: the standalone,
standard-library-only offline checker; `verify.verify`: `tanpuhui audit verify` and its endpoint,
recomputing balances, issuance and the sealed log; `search`: transfer search, streamed exports and the
admin action log, which every domain's services write through `service.accounts.actions`; `dashboard`:
the district's figures by period, behaviour type, community and plan action; `reports`: the monthly report
per town; `residents`: one resident as administrators read them, every read logged. All SQL is in
`repository/`.
"""
