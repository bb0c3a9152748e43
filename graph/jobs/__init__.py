"""Jobs: the record of every call to an outside model or voice service (SPEC §7)."""
