"""The HTTP doors onto a Workspace: REST (/api/v1), OpenAI-compatible (/v1) and MCP (/mcp).

    app.py            create_app(): one ASGI app holding the three doors and their auth
    service.py        what every door calls: the shared Workspace, write lock, upload rules
    rest.py           /api/v1: documents, search, ask (JSON or SSE), health
    openai_compat.py  /v1/models and /v1/chat/completions, streamed or not
    mcp_server.py     the MCP tools (search, ask, list_documents, get_passage)
    auth.py           bearer tokens, failed-token rate limit, loopback-only open mode
    tokens.py         API tokens stored hashed in the workspace (`ragstream token ...`)
    errors.py         every error as {"error": {"code", "message"}} with its HTTP status
    cli.py            `ragstream api`, `ragstream mcp`, `ragstream token`

Doors stay thin: nothing here knows how to retrieve or answer, only how to ask a
Workspace and turn its results (and its RagstreamErrors) into HTTP.
"""
