"""The COM-shaped facade: snake_case mirrors of the BITS interfaces (docs/design.md#public-api)."""
