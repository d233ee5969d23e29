"""The COM-shaped facade: snake_case mirrors of the BITS interfaces (DESIGN §6)."""
