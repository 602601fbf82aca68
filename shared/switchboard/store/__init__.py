"""The only place that knows DynamoDB: PynamoDB models, keys and repositories."""
