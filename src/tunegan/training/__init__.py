"""Training: the adversarial update in one object, the loop in a trainer."""
