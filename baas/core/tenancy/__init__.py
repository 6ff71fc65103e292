"""Who owns what: platform admins, projects, API keys and first-run bootstrap."""
