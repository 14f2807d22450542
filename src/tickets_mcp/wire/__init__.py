"""The JSON documents of the REST APIs tickets-mcp speaks on both sides of the wire, each declared once.

One module per API (`bugtome` seed 000, `agentsmesh` seed 001, `abf` seed 002) holds its documents as
pydantic models and the mapping between them and the domain records, both ways. Our server's dialect
(http/rest/<api>.py) builds the documents it answers with; our client adapter (remotes/<api>.py)
validates what a server answers into the same documents and maps them to records, and sends the same
bodies the server validates. So a field is named, typed and spelled in one place, and the two sides
cannot drift. `native` holds our own API's bodies (its answers are the domain records); `gitlab` the
GitLab REST v4 shapes the gitlab backend reads.

A document is written strictly and read tolerantly: what we send always carries every field (the
schema says so), while a field another server leaves out reads as its default and fields we do not
know are ignored. Depends on domain/ and pydantic only.
"""
