"""Tables of the attachments package."""
