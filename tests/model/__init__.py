"""Test-side references written independently of the emulator's implementation: the job-state model the
state machine checks against, and the check that a file store's rows agree with the service's memory."""
