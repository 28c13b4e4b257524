"""Request guards kept in the database, so every worker sees them: idempotency keys and replay nonces."""
