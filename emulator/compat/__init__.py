"""Drop-in layers that let client code written for other Python bindings run against the emulator.

``emulator.compat.pywin32``: the modules of pywin32 312 that BITS clients import (docs/pywin32.md).
"""
