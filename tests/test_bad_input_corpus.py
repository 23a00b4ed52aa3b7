"""The bad-input corpus: every command on files a hostile but realistic user would give it.

Each case either ends in exit code 2 with one line naming the file and the problem (and no output
written), or succeeds with the bad part listed as a failure. Never a traceback.
"""

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from headpose.cli import main
from tests.inference.conftest import export_tiny_onnx, render_head_turn

pytestmark = pytest.mark.usefixtures("plain_logging")


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch corpus_pwned",))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    face = render_head_turn(n=1, yaw_range=(0, 0))[0][0]  # a synthetic head, RGB
    bgr = cv2.cvtColor(face, cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(d / "good.jpg"), bgr)
    (d / "random.jpg").write_bytes(np.random.default_rng(0).bytes(4096))
    (d / "zero.jpg").write_bytes(b"")
    data = (d / "good.jpg").read_bytes()
    (d / "truncated.jpg").write_bytes(data[: len(data) // 2])
    cv2.imwrite(str(d / "alpha.png"), np.dstack([bgr, np.full(bgr.shape[:2], 128, np.uint8)]))
    cv2.imwrite(str(d / "16bit.png"), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(d / "gray.png"), cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    Image.fromarray(face).convert("CMYK").save(d / "cmyk.jpg")
    Image.new("L", (12000, 12000)).save(d / "huge.png")  # 144 MP that compress to ~150 kB
    cv2.imwrite(str(d / "noface.jpg"), np.full((120, 160, 3), 128, np.uint8))
    (d / "mixed").mkdir()
    for name in ("good.jpg", "random.jpg", "zero.jpg"):
        (d / "mixed" / name).write_bytes((d / name).read_bytes())
    (d / "empty").mkdir()
    (d / "notes.mp4").write_text("not a video")
    export_tiny_onnx(d / "model.onnx")
    (d / "corrupt.onnx").write_bytes(np.random.default_rng(1).bytes(2048))
    torch.save({"spec": {"name": "hopenet"}, "state_dict": {}, "meta": _RunsCode()}, d / "evil.pt")
    aflw = d / "aflw"
    aflw.mkdir()
    pts = np.stack([np.linspace(60, 140, 68), np.linspace(60, 160, 68), np.zeros(68)]).astype(np.float32)
    for stem, pose in (("good", [0.1, 0.3, 0.0]), ("nan", [np.nan, 0.3, 0.0]), ("nopose", None)):
        cv2.imwrite(str(aflw / f"{stem}.jpg"), bgr)
        mat = (
            {"pt3d_68": pts}
            if pose is None
            else {"Pose_Para": np.array([[*pose, 0, 0, 0, 1]]), "pt3d_68": pts}
        )
        scipy.io.savemat(aflw / f"{stem}.mat", mat)
    cv2.imwrite(str(aflw / "nomat.jpg"), bgr)
    cv2.imwrite(str(aflw / "cutmat.jpg"), bgr)
    (aflw / "cutmat.mat").write_bytes((aflw / "good.mat").read_bytes()[:100])
    return d


PREDICT = ["predict", "--quiet"]
# (argv with {d} for the corpus folder, expected: ("error", text) or ("ok", faces, failures))
CASES = {
    "random bytes named .jpg": (PREDICT + ["{d}/random.jpg"], ("error", "{d}/random.jpg: unreadable image")),
    "zero-byte file": (PREDICT + ["{d}/zero.jpg"], ("error", "{d}/zero.jpg: empty file (0 bytes)")),
    "truncated jpg": (
        PREDICT + ["{d}/truncated.jpg", "--detector", "whole"],
        ("error", "{d}/truncated.jpg: unreadable image"),
    ),
    "PNG with alpha": (PREDICT + ["{d}/alpha.png", "--detector", "whole"], ("ok", 1, 0)),
    "16-bit PNG": (PREDICT + ["{d}/16bit.png", "--detector", "whole"], ("ok", 1, 0)),
    "grayscale": (PREDICT + ["{d}/gray.png", "--detector", "whole"], ("ok", 1, 0)),
    "CMYK jpg": (PREDICT + ["{d}/cmyk.jpg", "--detector", "whole"], ("ok", 1, 0)),
    "12000x12000 image, refused": (
        PREDICT + ["{d}/huge.png", "--on-large", "refuse"],
        ("error", "{d}/huge.png: 144,000,000 pixels"),
    ),
    "12000x12000 image, downscaled": (PREDICT + ["{d}/huge.png", "--detector", "whole"], ("ok", 1, 0)),
    "image with no face": (PREDICT + ["{d}/noface.jpg"], ("error", "{d}/noface.jpg: no face found")),
    "folder of mixed files": (PREDICT + ["{d}/mixed", "--detector", "whole"], ("ok", 1, 2)),
    "empty folder": (PREDICT + ["{d}/empty"], ("error", "{d}/empty: folder holds no images")),
    "non-existent path": (PREDICT + ["{d}/nowhere.jpg"], ("error", "{d}/nowhere.jpg: input not found")),
    "text file named .mp4": (PREDICT + ["{d}/notes.mp4"], ("error", "{d}/notes.mp4: unreadable video")),
    "missing model": (
        ["benchmark", "--model", "{d}/missing.onnx"],
        ("error", "{d}/missing.onnx: model file not found"),
    ),
    "corrupt .onnx": (
        ["benchmark", "--model", "{d}/corrupt.onnx"],
        ("error", "{d}/corrupt.onnx: not a loadable ONNX"),
    ),
    ".pt that would run code": (
        ["benchmark", "--model", "{d}/evil.pt"],
        ("error", "{d}/evil.pt: not a readable headpose checkpoint"),
    ),
    "models:/ alias that does not exist": (
        ["benchmark", "--model", "models:/headpose@nonexistent"],
        ("error", "models:/headpose@nonexistent"),
    ),
    "label: random bytes": (
        ["label", "{d}/random.jpg", "--json", "{d}/out/l.jsonl", "--quiet"],
        ("error", "{d}/random.jpg: unreadable image"),
    ),
    "label: folder of mixed files": (
        ["label", "{d}/mixed", "--json", "{d}/out/l.jsonl", "--quiet"],
        ("ok", None, 2),
    ),
    "AFLW2000: NaN, truncated and missing .mat, no Pose_Para": (
        ["evaluate", "--root", "{d}/aflw", "--quiet"],
        ("ok", 1, 4),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_corpus_case(case, corpus, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns.db'}")
    monkeypatch.chdir(tmp_path)
    argv, expected = CASES[case]
    argv = [a.format(d=corpus) for a in argv]
    if argv[0] in ("predict", "benchmark", "evaluate") and "--model" not in argv:
        argv += ["--model", str(corpus / "model.onnx")]
    out_json = tmp_path / "out.jsonl"
    if argv[0] == "predict":
        argv += ["--json", str(out_json), "--summary-json", str(tmp_path / "summary.json")]
    if argv[0] == "evaluate":
        argv += ["--json", str(tmp_path / "summary.json")]
    code = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if expected[0] == "error":
        assert code == 2, captured.err
        (line,) = [ln for ln in captured.err.splitlines() if ln.startswith(f"headpose {argv[0]}: error: ")]
        assert expected[1].format(d=corpus) in line
        assert not out_json.exists() and not (tmp_path / "summary.json").exists()  # nothing half-written
    else:
        assert code == 0, captured.err
        _, faces, failures = expected
        if argv[0] == "predict":
            summary = json.loads((tmp_path / "summary.json").read_text())
            assert summary["faces"] == faces and summary["failures"] == failures
        elif argv[0] == "evaluate":
            summary = json.loads((tmp_path / "summary.json").read_text())
            assert summary["n"] == faces and len(summary["bad_files"]) == failures
            assert all(str(corpus / "aflw") in b["file"] and b["problem"] for b in summary["bad_files"])
        else:
            assert len((corpus / "out" / "l.failures.jsonl").read_text().splitlines()) == failures
    assert not (tmp_path / "corpus_pwned").exists() and not (corpus / "corpus_pwned").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["benchmark", "--threads", "0"],
        ["benchmark", "--batch", "0"],
        ["predict", "x.jpg", "--threads", "0"],
        ["predict", "x.jpg", "--batch-size", "0"],
    ],
)
def test_corpus_impossible_arguments_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and "expected an integer" in capsys.readouterr().err
