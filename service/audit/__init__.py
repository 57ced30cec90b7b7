"""Audit: what lets anyone show that every gram is real.

- `sealer` (one leader-elected job; its loop is in `tasks`): committed ledger entries into an
  append-only RFC 6962 Merkle log with Ed25519-signed checkpoints; `receipts`: inclusion receipts,
  checkpoints, consistency proofs; `receipt_verifier`: the standalone, standard-library-only offline checker;
- `verify`: `tanpuhui audit verify`, recomputing balances, issuance and the sealed log;
- `search`: transfer search and streamed exports; the admin action log it reads is written by every
  domain's services through `service.accounts.actions`;
- `dashboard`: the district's figures by period, behaviour type, community and plan action.
"""
