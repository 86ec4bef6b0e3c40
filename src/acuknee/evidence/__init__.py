"""The evidence view: the trials as data and random-effects meta-analysis (issue 6, part 4)."""
