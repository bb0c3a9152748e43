"""Local stand-ins for the outside services (Anthropic, later ElevenLabs): no test reaches the
internet, yet the official SDKs run unmodified against real HTTP."""
