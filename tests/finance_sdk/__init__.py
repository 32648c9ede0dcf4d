"""The Finance SDK stand-in: its C source, the build fixture and a writer for its feed."""
