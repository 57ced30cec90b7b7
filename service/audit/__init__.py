"""Audit: what lets anyone show that every gram is real.

- `sealer` (leader-elected background task): committed ledger entries into an append-only RFC 6962 Merkle
  log with Ed25519-signed checkpoints; `receipts`: inclusion receipts, checkpoints, consistency proofs;
  `receipt_verifier`: the standalone, standard-library-only offline checker;
- `verify`: `tanpuhui audit verify`, recomputing balances, issuance and the sealed log;
- `actions`: the append-only admin action log; `search`: transfer search and streamed exports;
- `dashboard`: the district's figures by period, behaviour type, community and plan action.
"""
