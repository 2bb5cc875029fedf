"""What theory/ and empirics/ share, below both (it imports neither): the input-error classes, the numerics
vocabulary (NumPy and torch), I/O, and the mathematics both evaluate: divergences and their checks, the
tolerances, the bound formulas of Lemma 1 / Theorem 1, the certified binary-head solver and its barrier
driver, and the figure helpers."""
