"""Developer tools: the Spotify stand-in, the demo library and the demo. Not shipped to Spark."""
