"""The service: the Tracker every front end calls, the Backend that hands one out per caller (the one seam
between the entry point and the front ends), and the local tracker that keeps every rule once: who may do
what (access.py), what names mean (names.py), the use cases (local.py)."""
