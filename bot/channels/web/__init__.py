"""The web channel: citizens answer the survey in a browser (issue 19)."""
