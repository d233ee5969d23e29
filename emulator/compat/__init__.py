"""Compatibility skins over the native API: surfaces Windows programs and scripts already use.

``emulator.compat.pywin32``: the modules of pywin32 312 that BITS clients import (docs/pywin32.md).
``emulator.compat.bitsadmin``: the bitsadmin command line over a shared file store (docs/bitsadmin.md).
"""
