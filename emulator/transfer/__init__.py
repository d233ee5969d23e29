"""Moving bytes: remote sources, the local file system sandbox and the scheduler (docs/design.md#transfers)."""
