"""The lowest layer: design spaces, the Problem contract, params, paths, plotting style."""
