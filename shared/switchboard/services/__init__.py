"""Use cases, one per module. They speak the domain's language and reach storage through the store package."""
