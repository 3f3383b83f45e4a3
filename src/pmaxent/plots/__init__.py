"""Figures of the paper, drawn with matplotlib."""
