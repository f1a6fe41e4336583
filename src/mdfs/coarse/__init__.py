"""Stage 2, coarse filter: fast rules that remove most of the web's junk."""
