"""Domain rules: pure Python, no AWS, no event shapes, no environment."""
