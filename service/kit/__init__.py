"""Pieces every domain uses and none owns, with no business rule in them: the district's clock, schemas'
base classes, cursor pages, rate limits, secrets at rest, background loops, logging, the request
middleware, the OpenAPI document's error responses, the worker supervisor and the scratch databases that
tests and benchmarks use. Nothing here imports a domain."""
