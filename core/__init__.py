"""What theory/ and empirics/ share: the input-error class, the numerics vocabulary (NumPy and torch), and
I/O."""
