"""End-user authentication: accounts, users, sessions, signed tokens, one-time
codes, recovery, passwords and throttling."""
