"""Webhook deliveries: the dispatcher `serve` runs beside the app (dispatcher.py) and the HTTP it sends them with
(sender.py), over the connections tickets_mcp/network.py allows. Started by the entry point (cli/), never by a
front end.
"""
