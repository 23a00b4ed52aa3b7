"""An offline MediaPipe teacher: face detector, 478-point landmarks and their Procrustes pose."""

# What ``--model`` (and the teacher's labels) call the teacher; importing this package loads nothing else.
TEACHER = "mediapipe"
