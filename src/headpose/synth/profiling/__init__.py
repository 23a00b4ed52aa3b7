"""Face profiling: a photographed face re-rendered at a new pose (300W-LP's recipe, "3DDFA profiling").

From a photo, its 478 MediaPipe landmarks and the teacher's angles, build a textured 3D head and
turn it to a target pose whose label is exact by construction:

1. Shape (:mod:`.fit`). The face vertices are the photo's own 468 landmark points in the camera
   frame (:func:`headpose.teacher.pose.camera_points`: the face keeps its real shape). Skull, ears
   and neck come from :func:`headpose.synth.head_model.head_model`'s mean, placed by the
   Procrustes fit ``P ~ s R V + t`` of :func:`headpose.teacher.pose.fit_pose`; the fit's residual
   on the face outline is carried onto the skull rings (fading toward the back) and the ears, so
   they join the real face outline. The neck stays upright (the body does not turn with the head),
   as in :meth:`HeadModel.articulate`.
2. Texture (:mod:`.texture`). A vertex's source coordinate is its projection into the photo (a
   face vertex: its landmark's own x, y). Where the photo never showed the surface (it faces away
   from the camera, is hidden behind nearer surface, or lies outside the image) a fill colour
   sampled from the photo takes over, blended smoothly: skin from the cheeks and forehead, hair
   from the visible top of the head, faded by the head model's hair score.
3. Pose (:mod:`.fit`). The head turns about the neck pivot by ``dR = R_target @ R_teacher.T`` with
   both matrices from :func:`headpose.angles.euler_to_matrix`, so the rendered head's rotation is
   ``dR @ R_teacher = R_target`` and the label is exactly ``target``. When the target turns to
   the other side than the photo does (and ``mirror`` is on), the photo is mirrored first
   (:func:`headpose.angles.flip_horizontal`): then the side the new view shows is the side the
   photo saw. Targets are drawn by :func:`.config.sample_target`.
4. Crop (:mod:`.rotate`, the driver). The training crop is cut like every other one:
   :func:`headpose.data.crops.box_from_landmarks` of the new view's projected 68 landmarks with the
   configured margin, plus jitter, rendered straight at ``image_size`` over a background
   (:mod:`.background`): the photo itself with the head's old silhouette filled from its
   surroundings ("photo", as 300W-LP keeps the scene: hair beyond the skull, shoulders and
   background stay where they were), the synthetic background bank of
   :mod:`headpose.synth.backgrounds` ("bank"), or a smooth fill of the photo's border colours
   ("border").

Rendering is weak-perspective (orthographic at the fit's scale), which is also the teacher fit's
camera model.
"""
