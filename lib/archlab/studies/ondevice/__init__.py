"""Study: ondevice."""
