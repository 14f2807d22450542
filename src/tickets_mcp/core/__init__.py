"""The service: the Tracker every front end calls, and the local tracker that keeps every rule once."""
