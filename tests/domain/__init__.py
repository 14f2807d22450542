"""Pure rules of the domain."""
