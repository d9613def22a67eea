"""Study: dram_space."""
