"""The embedding tier: batched, cached embedding of image files."""
