"""Moving bytes: remote sources, the local file system sandbox and the scheduler (DESIGN §5)."""
