"""One table per concept (models, datasets, losses, heads, noise kinds): the names a sweep can use and what
each means. No torch."""
