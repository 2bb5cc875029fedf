"""What a run reads: the data splits, the models, their frozen features and lower-block states, the
precision, and the named random streams and training parts a seed draws."""
