"""Emission factors: versioned sets loaded from emission_factors/, the resolver, the one conversion.

Invariants: a stored version never changes (the database refuses UPDATE and DELETE); a behaviour uses
the version in force at the time it happened; credits already issued keep the version they used.
Entry points: `service.load_file` / `service.publish` (CLI `tanpuhui factors load`, admin API),
`cache.FactorCache.resolve` (in memory, no database hit per event), `conversion.convert`.
"""
