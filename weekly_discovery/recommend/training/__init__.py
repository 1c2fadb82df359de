"""Training the weekly model: labelled set, grouped folds, cross-validation, selection, the champion decision."""
