"""The HTTP door in front of Streamlit: login, sessions, and a reverse proxy.

`ragstream serve` runs `gateway.create_app()` on the public port and Streamlit on a
private loopback port behind it; no Streamlit route answers a visitor without a session.
"""
