"""The OAuth 2.1 authorization server `serve` is for its own MCP resource, and what it needs to know its clients
(client_documents.py: a client named by the URL of its metadata document)."""
