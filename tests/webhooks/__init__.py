"""Tests of the webhooks domain: endpoints, signed deliveries to a real receiver on loopback, retries,
redelivery, restarts and rollbacks, and who may see what."""
