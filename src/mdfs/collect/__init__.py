"""Stage 1, collect: read raw sources, decode them, extract the main text of pages."""
