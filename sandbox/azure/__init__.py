"""Azure emulation: Cost Management Query API, exports in blob storage, OAuth2 token endpoint."""
