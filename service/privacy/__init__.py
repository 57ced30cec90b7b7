"""Privacy: a resident's personal data kept no longer than the retention schedule says, handed over in one
download, and erased everywhere when the account is deleted.

Invariants: deleting an account leaves none of the resident's identifiers (platform id, WeChat ids,
nickname, devices, evidence, photos, voucher codes, trip times) in any table, and the ledger's amounts
stay, under the resident's board pseudonym; the retention pass removes or coarsens only what has passed
its time, and never an amount. This domain reaches every other one, through each domain's `personal`
module, which knows its own tables.
Entry points: `erasure.erase_account`, `export.export_account`, `retention.run_once` (loop in tasks.py),
`runs.page`; routes in router.py (DELETE /v1/me, GET /v1/me/export, GET /v1/admin/retention/runs).
"""
