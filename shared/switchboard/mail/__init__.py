"""Adapters that send e-mail on the product's own behalf (operators' notifications), as opposed to the e-mail channel,
which talks to customers (channels/email.py)."""
