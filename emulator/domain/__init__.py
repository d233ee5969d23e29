"""Pure rules: job records, the state machine, access checks and decision tables. No I/O here."""
