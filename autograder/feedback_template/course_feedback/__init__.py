"""Package data (templates), a package only so that setuptools ships it."""
