"""The service: the local tracker, its access rules, tokens and the backend seam."""
