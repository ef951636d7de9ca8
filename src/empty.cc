// Keeps a layer linkable while it has no sources of its own.
