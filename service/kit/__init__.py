"""Building blocks with no business rules: request context, logging, middleware, rate limiting, security."""
