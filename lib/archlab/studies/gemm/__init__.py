"""Study: gemm."""
