"""Collections and their documents: definitions, schemas, limits, rules, the
write path, batches and idempotency."""
