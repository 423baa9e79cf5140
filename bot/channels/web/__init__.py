"""The web channel: citizens answer the survey in a browser or at the counter tablet."""
