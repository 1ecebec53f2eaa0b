"""Adverb deletion as text augmentation (Choi & Kim 2024)."""
