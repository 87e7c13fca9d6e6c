"""Tribune's edge: the aiohttp app, Socket.IO namespaces, HTTP API, tokens, CLI and config."""
