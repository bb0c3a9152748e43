"""Sources: integrations (GitHub, Slack, Linear, Notion, Google Drive) feeding raw memory
through webhooks (SPEC §7)."""
