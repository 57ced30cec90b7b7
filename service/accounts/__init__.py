"""Accounts: who is calling and what they may do.

Residents sign in by WeChat (or, outside production, the dev login) and are named everywhere else by a
public id or a pseudonym, never by their openid; enterprise users and administrators sign in by password
(argon2id, refused when guessable) and, where they have it, a TOTP code, which administrators must have
in production; data partners sign every request (HMAC-SHA256, each signature accepted once). Access tokens
are short-lived EdDSA JWTs checked without a database read; refresh tokens work once, and presenting a
spent one signs out that whole sign-in.

Entry points: `deps` (the principals and rate limits every endpoint declares), `signin`, `residents`,
`staff` (users, enterprises, organisations), `security` (a staff user's own password, TOTP, sign-ins and
sessions), `partners`, `personal` (a resident's profile, devices and sign-ins, erased and exported for
the privacy domain), and `actions`, the admin action log every domain's services write to; it names a
resident by the board pseudonym, which outlives the account, never by the public id.
"""
