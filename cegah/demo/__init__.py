"""Demo organisations, people and synthetic data. Everything here is labelled demo/synthetic."""
