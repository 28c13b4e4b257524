"""Users, roles in departments, passwords (argon2), tokens (JWT) and API keys."""
