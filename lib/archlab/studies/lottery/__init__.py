"""Study: lottery."""
