"""MDFS: a Massive Data Filtering System for Chinese pretraining data."""

__version__ = "0.1.0"
