"""News: product announcements, public to read, written by staff (SPEC §7)."""
