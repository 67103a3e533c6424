"""Tables of the bulk package."""
