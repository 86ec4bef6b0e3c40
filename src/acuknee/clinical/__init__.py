"""acuknee.clinical: the pure clinical core (see README.md in this folder)."""
