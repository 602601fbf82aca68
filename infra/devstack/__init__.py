"""The local stack: embedded AWS (moto), provisioning from template.yaml, an API Gateway stand-in, stream and queue
pumps, and a messenger simulator, all in one process (`python -m infra.devstack`, and the integration tests)."""
