"""Study: proxy."""
