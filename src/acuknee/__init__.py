"""acuknee: decision support for acupuncture care of knee pain."""

__version__ = "0.1.0"
