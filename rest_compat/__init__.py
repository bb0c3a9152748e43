"""The documented `/api/*` REST surface: parse, call the domain operation, shape the JSON."""
