"""Webhook deliveries: the dispatcher `serve` runs beside the app (dispatcher.py), the HTTP it sends them with
(sender.py) and the connections it may open (network.py). Started by the entry point (cli/), never by a front end.
"""
