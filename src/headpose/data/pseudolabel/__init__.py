"""Pseudo-labels for unlabelled face photos: the MediaPipe teacher's pose on training-style crops.

A *pool* is a folder of photos without pose labels (LFW, UTKFace, ...). Every photo it holds is
read, labelled by the teacher (:class:`headpose.teacher.teacher.MediaPipeTeacher`) and cropped
exactly as training crops are cut (:func:`headpose.data.crops.box_from_landmarks` on the 68-point
subset of the teacher's landmarks, then :func:`headpose.data.crops.crop_resize`). Faces whose
detector score, presence, Procrustes residual, size or angles fail the thresholds are dropped.

Nothing is dropped silently: the report has one row per photo with its status -- ``kept`` or the
reason it was dropped (:data:`.config.STATUSES`) -- and the best face's confidences, so thresholds can be
tuned from the report without labelling again. Subjects ("<pool>:<id>") let subject-disjoint
splits keep one person's photos on one side.

Photos are processed in sorted order, in chunks that worker processes (each with its own
teacher) label independently and that are put back in order: the output is the same for any
number of workers.

Modules: :mod:`.config` (pools, thresholds, the ``pseudolabel:`` block), :mod:`.label` (one
photo), :mod:`.pools` (walking the pools, in parallel), :mod:`.report` (counts and figures).
"""
