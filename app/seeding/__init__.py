"""Seeding: the source documents (documents.py, parser.py) and the demo round."""

from .documents import SeedProblem, SeedReport, seed_paths

__all__ = ["SeedProblem", "SeedReport", "seed_paths"]
