"""Training corpus (Debian packages or the user's own photos) and the public evaluation set."""
