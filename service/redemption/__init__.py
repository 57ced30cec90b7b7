"""Redemption: the reward catalogue, vouchers and retirement certificates.

An approved enterprise publishes rewards; a resident redeems one for a voucher (credits move from the
resident to the enterprise, one comes off the stock), the enterprise takes the voucher at its counter,
or the resident cancels it and gets the very grams back. Credits an enterprise holds from settled
vouchers can be retired for good against a certificate that names the behaviours behind its grams.

Invariants: locks are always taken in one order — the resident's ledger account, then the voucher, then
the reward, then the enterprise's ledger account — so no two of these writes can deadlock; a refusal
writes nothing; one client_id redeems or retires once (asked again: the original reply; with other
content: a conflict).
Entry points: `rewards` (publish, change, browse), `vouchers` (redeem, cancel, accept at the counter,
a resident's vouchers), `retirement` (retire, certificates), `enterprises` (the approval check every
enterprise write starts with, and the enterprise's credits), `books` (the enterprise's vouchers and monthly
statement), `personal` (a resident's vouchers, erased and exported for the privacy domain); all SQL is
in `repository`.
"""
