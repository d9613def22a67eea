"""Generic analyses over any Problem or result table: statistics, claims, Pareto."""
