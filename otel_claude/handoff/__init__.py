"""The hook's side of the hand-off: standard library only, everything the hook may import."""
