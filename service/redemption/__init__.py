"""Redemption: the reward catalogue, vouchers and retirement certificates.

An approved enterprise publishes rewards; a resident redeems one for a voucher (credits move from the
resident to the enterprise, one comes off the stock), the enterprise takes the voucher at its counter,
or the resident cancels it and gets the very grams back. Credits an enterprise holds from settled
vouchers can be retired for good against a certificate that names the behaviours behind its grams.
"""
