"""Compatibility skins over the native API: surfaces Windows programs and scripts already use."""
