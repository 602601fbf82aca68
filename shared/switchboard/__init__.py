"""Switchboard: the omnichannel support inbox shared by every Lambda function."""
