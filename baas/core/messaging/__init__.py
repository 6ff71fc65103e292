"""Outgoing messages: the mailer, its templates and per-project mail settings."""
