"""The weekly model: its families, its two forms (scikit-learn, Spark ML), scoring with it, storing it."""
