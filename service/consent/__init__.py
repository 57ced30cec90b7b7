"""Consent: a resident's links to their accounts at data partners.

A partner names a resident only by the pseudonym of a link the resident consented to, unique to that
partner; it never learns the resident's platform id, and no partner learns of another's links. A link
comes into force when the partner redeems the one-time code the resident carried to it, and stops at once
when the resident revokes it (or deletes their account); a partner's records naming a pseudonym that no
link holds, that another partner's link holds, or whose link was revoked are refused
(ingest_record_batch()). Every grant and revocation is a consent event, sealed into the ledger's Merkle log.
Entry points: `links` (the flow, erasure), `texts` (the consent texts, versioned in texts/).
"""
