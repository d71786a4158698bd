"""Training runs: the run skeleton, the recipes (noise GAN, translation, fine-tuning), callbacks."""
