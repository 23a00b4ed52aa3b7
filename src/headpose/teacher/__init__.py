"""An offline MediaPipe teacher: face detector, 478-point landmarks and their Procrustes pose."""
