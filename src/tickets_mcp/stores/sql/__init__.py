"""The Store written once for every SQL engine: transaction scripts over a `Connection` and a `Dialect`."""
