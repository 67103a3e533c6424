"""The one workflow engine every state table runs on (applications, recommended lists)."""
