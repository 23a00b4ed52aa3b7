"""`headpose predict` end to end: images, folders, video, bad input and exit codes."""

import json

import cv2
import numpy as np
import pytest

from headpose.cli import main
from tests.inference.conftest import CLIP, export_tiny_onnx, read_video, render_head_turn, write_video

pytestmark = pytest.mark.usefixtures("plain_logging")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(export_tiny_onnx(tmp_path_factory.getbasetemp() / "tiny_headpose.onnx"))


@pytest.fixture(scope="module")
def heads():
    return render_head_turn(n=6, yaw_range=(-30, 30))


def save(path, rgb):
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def run(capsys, tmp_path, *argv):
    """Exit code, the machine summary (--summary-json), stderr; stdout holds the human summary."""
    summary_path = tmp_path / "summary.json"
    summary_path.unlink(missing_ok=True)
    code = main(["predict", *map(str, argv), "--quiet", "--summary-json", str(summary_path)])
    captured = capsys.readouterr()
    if code == 0:
        assert "{" not in captured.out  # a human summary, not JSON
        assert "outputs:" in captured.out
    else:
        assert not summary_path.exists()
    return code, (json.loads(summary_path.read_text()) if code == 0 else None), captured.err


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_image_with_boxes(tmp_path, capsys, model, heads):
    frames, boxes = heads
    image = save(tmp_path / "head.png", frames[0])
    # Keyed by the path as given on the command line.
    (tmp_path / "boxes.json").write_text(json.dumps({str(image): [boxes[0].tolist()]}))
    code, summary, _ = run(
        capsys,
        tmp_path,
        image,
        "--model",
        model,
        "--boxes",
        tmp_path / "boxes.json",
        "--out",
        tmp_path / "out",
        "--json",
        tmp_path / "p.jsonl",
    )
    assert code == 0 and summary["faces"] == 1 and summary["failures"] == 0
    assert summary["failures_file"] == str(tmp_path / "out" / "failures.jsonl")
    assert (tmp_path / "out" / "failures.jsonl").read_text() == ""
    (row,) = rows(tmp_path / "p.jsonl")
    assert row["file"] == str(image) and row["frame"] == 0 and row["detector"] == "boxes"
    assert all(isinstance(row[k], float) for k in ("yaw", "pitch", "roll", "confidence"))
    drawn = cv2.imread(str(tmp_path / "out" / "head.png"))
    assert drawn.shape == cv2.imread(str(image)).shape
    changed = np.abs(drawn.astype(int) - cv2.imread(str(image)).astype(int)).sum(-1) > 60
    assert changed.sum() > 50  # axes and box drawn


def test_folder_reports_bad_files_and_keeps_going(tmp_path, capsys, caplog, model, heads):
    frames, boxes = heads
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    save(folder / "a.jpg", frames[1])
    save(folder / "sub" / "b.png", frames[2])
    (folder / "broken.jpg").write_bytes(b"definitely not a jpeg")
    save(folder / "empty.png", np.full((64, 64, 3), 90, np.uint8))
    (folder / "notes.txt").write_text("ignored")
    keyed = {"a.jpg": [boxes[1].tolist()], "sub/b.png": [boxes[2].tolist()]}  # relative to the folder
    (tmp_path / "boxes.json").write_text(json.dumps(keyed))
    code, summary, _ = run(
        capsys,
        tmp_path,
        folder,
        "--model",
        model,
        "--boxes",
        tmp_path / "boxes.json",
        "--out",
        tmp_path / "out",
        "--json",
        tmp_path / "p.jsonl",
    )
    assert code == 0
    assert summary["frames"] == 4 and summary["faces"] == 2 and summary["failures"] == 2
    assert summary["failures_file"] == str(tmp_path / "out" / "failures.jsonl")
    failed = {f["file"]: f["error"] for f in rows(tmp_path / "out" / "failures.jsonl")}
    assert set(failed) == {str(folder / "broken.jpg"), str(folder / "empty.png")}
    assert "unreadable image" in failed[str(folder / "broken.jpg")]
    assert "no face" in failed[str(folder / "empty.png")]
    assert "broken.jpg" in caplog.text  # failures are also logged as warnings (stderr in a terminal)
    files = [r["file"] for r in rows(tmp_path / "p.jsonl")]
    assert files == [str(folder / "a.jpg"), str(folder / "sub" / "b.png")]
    assert (tmp_path / "out" / "a.jpg").is_file() and (tmp_path / "out" / "sub" / "b.png").is_file()
    assert not (tmp_path / "out" / "empty.png").exists()


def test_folder_of_face_crops_with_the_whole_image_detector(tmp_path, capsys, model):
    from headpose.synth.generate import generate

    faces = generate(dict(num_images=3, image_size=64, seed=1), workers=1, progress=False)
    for i, image in enumerate(faces.images):
        save(tmp_path / f"crop{i}.png", image)
    code, summary, _ = run(
        capsys, tmp_path, tmp_path, "--model", model, "--detector", "whole", "--json", tmp_path / "p.jsonl"
    )
    assert code == 0 and summary["faces"] == 3
    assert [r["box"] for r in rows(tmp_path / "p.jsonl")] == [[0.0, 0.0, 64.0, 64.0]] * 3


def test_video_with_boxes_writes_every_frame(tmp_path, capsys, model, heads):
    frames, boxes = heads
    video = write_video(tmp_path / "turn.mp4", frames)
    (tmp_path / "boxes.json").write_text(json.dumps({str(i): [b.tolist()] for i, b in enumerate(boxes)}))
    code, summary, _ = run(
        capsys,
        tmp_path,
        video,
        "--model",
        model,
        "--boxes",
        tmp_path / "boxes.json",
        "--no-smooth",
        "--out",
        tmp_path / "out",
        "--json",
        tmp_path / "p.jsonl",
    )
    assert code == 0 and summary["frames"] == summary["faces"] == len(frames) and not summary["smoothing"]
    assert [r["frame"] for r in rows(tmp_path / "p.jsonl")] == list(range(len(frames)))
    assert len(read_video(tmp_path / "out" / "turn_pose.mp4")) == len(frames)


def test_a_truncated_video_is_a_failure_not_a_silent_success(tmp_path, capsys, model):
    frames, boxes = render_head_turn(n=20, yaw_range=(-30, 30))
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(tmp_path / "whole.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    data = (tmp_path / "whole.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])  # AVI keeps its frame count in the header
    (tmp_path / "boxes.json").write_text(json.dumps({str(i): [b.tolist()] for i, b in enumerate(boxes)}))
    code, summary, _ = run(
        capsys,
        tmp_path,
        tmp_path / "cut.avi",
        "--model",
        model,
        "--boxes",
        tmp_path / "boxes.json",
        "--json",
        tmp_path / "p.jsonl",
    )
    assert code == 0 and 0 < summary["frames"] < 20
    (failure,) = rows(tmp_path / "p.failures.jsonl")
    assert (
        f"decoded {summary['frames']} of the 20 frames" in failure["error"]
        and "truncated" in failure["error"]
    )


def test_an_unknown_video_codec_names_the_output_and_leaves_nothing(tmp_path, capsys, model, heads):
    frames, boxes = heads
    video = write_video(tmp_path / "turn.mp4", frames)
    (tmp_path / "boxes.json").write_text(json.dumps({str(i): [b.tolist()] for i, b in enumerate(boxes)}))
    code, _, err = run(
        capsys,
        tmp_path,
        video,
        "--model",
        model,
        "--boxes",
        tmp_path / "boxes.json",
        "--out",
        tmp_path / "out",
        "--fourcc",
        "XXXX",
    )
    assert code == 2 and f"{tmp_path / 'out' / 'turn_pose.mp4'}: cannot write video with codec 'XXXX'" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_real_frame_with_the_dlib_detector(tmp_path, capsys, model):
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is not available")
    capture = cv2.VideoCapture(str(CLIP))
    _, bgr = capture.read()
    capture.release()
    cv2.imwrite(str(tmp_path / "person.jpg"), bgr)
    code, summary, _ = run(
        capsys,
        tmp_path,
        tmp_path / "person.jpg",
        "--model",
        model,
        "--detector",
        "dlib",
        "--json",
        tmp_path / "p.jsonl",
    )
    assert code == 0 and summary["faces"] == 1 and summary["detector"] == "dlib"
    assert summary["crop_mapping"] == {"scale": 1.0, "shift": [0.0, 0.06], "margin": 0.25}


def test_huge_image_is_refused_or_downscaled_with_boxes_in_original_pixels(tmp_path, capsys, model, heads):
    frames, boxes = heads
    big = cv2.resize(frames[0], None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)  # 768 x 576
    image = save(tmp_path / "big.png", big)
    (tmp_path / "boxes.json").write_text(json.dumps({"big.png": [(boxes[0] * 4).tolist()]}))
    common = ["--model", model, "--boxes", tmp_path / "boxes.json", "--max-pixels", 100_000]
    code, _, err = run(capsys, tmp_path, image, *common, "--on-large", "refuse")
    assert code == 2 and "max_pixels" in err and "big.png" in err
    code, summary, _ = run(capsys, tmp_path, image, *common, "--json", tmp_path / "p.jsonl")
    assert code == 0
    (row,) = rows(tmp_path / "p.jsonl")
    np.testing.assert_allclose(row["box"], boxes[0] * 4, atol=1.0)


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda d, m: [d / "missing.jpg", "--model", m], "input not found"),
        (lambda d, m: [d / "x.jpg", "--model", d / "missing.onnx"], "model file not found"),
        (lambda d, m: [d / "x.jpg", "--model", m, "--camera", "0"], "exactly one of INPUT"),
        (lambda d, m: ["--model", m, "--camera", "97"], "camera 97 could not be opened"),
        (lambda d, m: ["97", "--model", m], "camera 97 could not be opened"),  # a bare index is a camera
        (lambda d, m: [d / "x.jpg", "--model", m], "no face found by the blazeface detector"),
        (
            lambda d, m: [d / "x.jpg", "--model", m, "--detector", "dlib"],
            "no face found by the dlib detector",
        ),
        (lambda d, m: [d / "x.jpg", "--model", "mediapipe"], "is the MediaPipe teacher"),
        (lambda d, m: [d / "notes.txt", "--model", m], "not an image"),
        (lambda d, m: [d / "empty", "--model", m], "folder holds no images"),
        (
            lambda d, m: [d / "x.jpg", "--model", m, "--out", d / "notes.txt"],
            "notes.txt: exists and is not a folder",
        ),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(tmp_path, capsys, model, make_args, message):
    save(tmp_path / "x.jpg", np.full((120, 160, 3), 128, np.uint8))
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, tmp_path, *make_args(tmp_path, model), "--json", tmp_path / "p.jsonl")
    assert code == 2
    assert message in err
    (line,) = [line for line in err.splitlines() if line.startswith("headpose predict: error: ")]
    assert message in line  # one line names the problem
    assert not (tmp_path / "p.jsonl").exists()


def test_real_photos_with_the_default_blazeface_detector(tmp_path, capsys, model, aflw2000_dev):
    folder = tmp_path / "photos"
    folder.mkdir()
    for path in sorted(aflw2000_dev.glob("*.jpg"))[:3]:
        (folder / path.name).write_bytes(path.read_bytes())
    code, summary, _ = run(capsys, tmp_path, folder, "--model", model, "--json", tmp_path / "p.jsonl")
    assert code == 0 and summary["detector"] == "blazeface" and summary["frames_with_faces"] == 3
    assert summary["crop_mapping"] == {"scale": 0.93, "shift": [0.0, 0.05], "margin": 0.25}
    assert summary["failures"] == 0 and summary["failures_file"] == str(tmp_path / "p.failures.jsonl")
    assert all(
        r["detector"] == "blazeface" and 0.5 <= r["confidence"] <= 1 for r in rows(tmp_path / "p.jsonl")
    )


def test_human_summary_and_failures_file_on_request(tmp_path, capsys, model, heads):
    frames, boxes = heads
    folder = tmp_path / "in"
    folder.mkdir()
    save(folder / "a.png", frames[0])
    for i in range(7):
        (folder / f"bad{i}.jpg").write_bytes(b"nope")
    (tmp_path / "boxes.json").write_text(json.dumps({"a.png": [boxes[0].tolist()]}))
    assert (
        main(
            [
                "predict",
                str(folder),
                "--model",
                model,
                "--boxes",
                str(tmp_path / "boxes.json"),
                "--quiet",
                "--failures",
                str(tmp_path / "bad.jsonl"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith(
        f"8 images from {folder}: 1 face in 1 image, 7 failures (see {tmp_path / 'bad.jsonl'})"
    )
    assert "images/s" in out[2] and out[-1].startswith("outputs: none")
    assert "bad3.jpg" not in "\n".join(out)  # failures are in the file, not on stdout
    assert len(rows(tmp_path / "bad.jsonl")) == 7


def test_json_lines_to_stdout_or_through_a_symlink(tmp_path, capsys, model, heads):
    frames, boxes = heads
    image = save(tmp_path / "head.png", frames[0])
    (tmp_path / "boxes.json").write_text(json.dumps({str(image): [boxes[0].tolist()]}))
    args = [str(image), "--model", model, "--boxes", str(tmp_path / "boxes.json"), "--quiet"]
    assert main(["predict", *args, "--json", "-"]) == 0
    captured = capsys.readouterr()
    (row,) = [json.loads(line) for line in captured.out.splitlines()]  # stdout holds only the JSON lines
    assert row["file"] == str(image) and "outputs:" in captured.err
    real = tmp_path / "real.jsonl"
    real.write_text("")
    (tmp_path / "link.jsonl").symlink_to(real)
    assert main(["predict", *args, "--json", str(tmp_path / "link.jsonl")]) == 0
    assert (tmp_path / "link.jsonl").is_symlink() and len(rows(real)) == 1
    code = main(["predict", *args, "--json", "/dev/null"])
    assert code == 2 and "/dev/null: is not a regular file" in capsys.readouterr().err


def test_the_real_clip_with_no_model_argument_uses_the_shipped_model(tmp_path, capsys):
    if not CLIP.is_file():
        pytest.skip(f"{CLIP} is not available")
    code, summary, _ = run(capsys, tmp_path, CLIP, "--max-frames", "600", "--json", tmp_path / "p.jsonl")
    assert code == 0 and summary["frames"] == 600 and summary["faces"] == 600
    assert summary["detector"] == "blazeface" and "pretrained" in summary["model"]
    yaws = [face["yaw"] for face in rows(tmp_path / "p.jsonl")]
    assert np.ptp(yaws) > 8  # the head turns ~12 deg by frame 500 (the teacher reads 11): the angles follow
