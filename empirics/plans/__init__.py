"""What to run: every option (typed), the sweep and its JSON, one run's spec, the grid of runs, the presets.
No torch."""
