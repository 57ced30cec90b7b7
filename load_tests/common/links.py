"""Seeded residents' links with a data partner, written set-wise: what the consent flow leaves behind
(service/consent) for residents who agreed in the mini-program to the partner's current consent text and
whose codes the partner redeemed. Partner records then name these residents by their pseudonyms."""

from __future__ import annotations

import asyncpg

from service.consent.texts import render

# One link in force and its 'granted' consent event (at the link's own time, as the audit's consent
# check reads them) per resident of $2. A pseudonym is 'psn_' and 26 random characters, as the service
# makes them.
LINK_RESIDENTS_SQL = """
WITH linked AS (
    INSERT INTO consent_link (resident_id, partner_id, pseudonym, text_version, locale, text_sha256, method,
                              agreed_at, granted_at)
    SELECT r.id, $1::bigint, 'psn_' || left(replace(gen_random_uuid()::text, '-', ''), 26), $3, $4, $5,
           'wechat_mini_program', now() - interval '1 minute', now()
      FROM unnest($2::bigint[]) AS r(id)
     ORDER BY r.id
    RETURNING id, resident_id, partner_id, pseudonym, text_version, locale, text_sha256, method, granted_at
), granted AS (
    INSERT INTO consent_event (link_id, kind, partner_id, text_version, locale, text_sha256, method, occurred_at)
    SELECT id, 'granted', partner_id, text_version, locale, text_sha256, method, granted_at FROM linked ORDER BY id
)
SELECT resident_id, pseudonym FROM linked
"""


async def link_residents(
    connection: asyncpg.Connection | asyncpg.Pool,
    resident_ids: list[int],
    *,
    partner_id: int,
    partner_name: str,
    partner_kind: str,
    retention_days: int,
) -> dict[int, str]:
    """Link each resident's account at the partner, consented to in zh-CN; answers each one's pseudonym."""
    text = render(partner=partner_name, kind=partner_kind, locale="zh-CN", retention_days=retention_days)
    rows = await connection.fetch(LINK_RESIDENTS_SQL, partner_id, resident_ids, text.version, text.locale, text.sha256)
    return {row["resident_id"]: row["pseudonym"] for row in rows}
