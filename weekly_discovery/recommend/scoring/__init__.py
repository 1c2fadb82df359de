"""Scoring the week's candidates with the champion and choosing the picks (novelty, artist cap, reasons)."""
