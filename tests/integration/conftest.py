"""Integration tests run against the local stack of the session (the `stack` fixture in tests/conftest.py):
moto, the gateway, the pumps and the simulator, all in this process."""
