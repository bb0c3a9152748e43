"""Voice: speech synthesis and the voice catalogue through the provider's SDK (SPEC §7)."""
