"""The Windows security model, reduced to what BITS looks at (docs/design.md#identity,
docs/reference/security.md#admin)."""
