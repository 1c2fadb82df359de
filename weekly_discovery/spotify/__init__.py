"""Access to the Spotify Web API: credentials, token refresh, and a client with a retry policy."""
