"""The Windows security model, reduced to what BITS looks at (DESIGN §3, spec/bits-security.md §1.3)."""
