"""Delivering the picks: the Spotify playlist, the history of published picks, the picks the user removed."""
