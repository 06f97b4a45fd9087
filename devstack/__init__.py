"""Local stand-ins for the cloud services the relay talks to (never deployed)."""
