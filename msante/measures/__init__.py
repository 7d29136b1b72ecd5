"""Measurements: weight, height, blood pressure, glucose… with units, bounds and codes."""

from msante.measures.kinds import Kind
from msante.measures.service import Measurement, Measures, Series

__all__ = ["Kind", "Measurement", "Measures", "Series"]
