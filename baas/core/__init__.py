"""Domain logic over the store, one sub-package per capability: language, tenancy,
auth, data, messaging; shared pieces (errors, clock, credentials, secretbox, hooks,
platform) at the top."""
