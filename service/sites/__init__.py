"""Registered sites (stations, stops, docks, recycling stations, venue gates) and the signed codes they show.

A site's screen shows a code that changes every minute: format v1 (`codes.py`), the site id, a key number
and a time window, signed with the site's Ed25519 key. The service holds only public keys; a key pair it
makes has its private key answered once and stored nowhere.

Invariants: a site's id fits uint32 and its key numbers one byte; a site has at most one active key; a
retired key keeps the codes of windows that started before its retirement, a revoked key keeps none; kind
and position never change. Every write to the registry bumps one version row, in the same transaction.

Entry points: `cache.SiteCache.check` (offline, no database read per code; `deps.SiteCacheDep`),
`codes.sign` / `codes.parse` / `codes.window_start_for`, `geo.distance_km`, the admin API (`router.py`,
`service.py`) and `tanpuhui sites sign|keygen`.
"""
