"""Training one run's model: the torch losses, the last-layer heads, fine-tuning (full and top blocks), its
checkpoints and trackers, the inputs read once per sweep, and the trainer that picks among them."""
