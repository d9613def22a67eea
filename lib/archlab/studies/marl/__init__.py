"""Study: multi-agent RL (one agent per knob) vs single-agent PPO on DRAM controller design,
in ArchGym's formulations, paired over tasks and seeds on exact tables."""
