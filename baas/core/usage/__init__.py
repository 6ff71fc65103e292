"""Request rates and daily quotas: who may send how much, counted across processes.

``plans`` holds the limits of a project and of a key (defaults from the settings),
``rates`` the token buckets, ``quotas`` the daily counts, ``counters`` the store-backed
totals every process adds to, and ``limiter`` puts them together for each request."""
