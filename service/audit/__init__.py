"""Audit: the append-only Merkle log of ledger entries with signed checkpoints and per-entry receipts.

Entry points: `sealer.run_forever` (the leader-elected background sealer), `receipts` (receipts,
checkpoints and consistency proofs), `receipt_verifier` (the standalone offline checker).
"""
