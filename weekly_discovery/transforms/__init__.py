"""Pure DataFrame -> DataFrame transforms of the Spark jobs (no reading, no writing)."""
