"""Study: accel_space."""
