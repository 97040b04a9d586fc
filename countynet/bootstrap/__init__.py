"""Township bootstrap kit: a self-checking script for township technicians, Chinese first."""
