"""`rtswap serve`: the aiohttp app and WebRTC sessions, request checks, and the Ray Serve ingress."""
