"""Storage backends, one module each; none imports another or any optional driver eagerly."""
