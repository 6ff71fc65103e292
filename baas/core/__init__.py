"""Domain logic over the store: admins, projects, keys (and later auth, collections)."""
