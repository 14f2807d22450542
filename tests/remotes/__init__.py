"""The remote adapters, against our peers and the vendors' specifications."""
