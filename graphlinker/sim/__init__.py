"""The scenario simulator with ground truth, and evaluation of a report against it."""
