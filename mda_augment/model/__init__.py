"""Pythia-family models: presets by name (:mod:`.presets`, light), random init and hub checkpoints
(:mod:`.build`, imports torch and transformers)."""
