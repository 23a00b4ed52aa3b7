from headpose.data.pseudolabel.report import pseudolabel_report


def test_report_counts_by_pool_and_status_and_draws_figures(labelled, tmp_path):
    faces, report = labelled
    summary, histograms, preview = pseudolabel_report(report, faces)
    assert summary["photos"] == 8 and summary["faces"] == summary["kept_photos"] == 6
    assert summary["pools"]["synth"]["status"] == {"kept": 6, "unreadable": 1, "no_face": 1}
    assert summary["pools"]["synth"]["kept_fraction"] == 0.75
    assert sum(summary["pools"]["synth"]["abs_yaw"].values()) == 6
    assert len(histograms.axes) == 6
    histograms.savefig(tmp_path / "h.png")
    preview.savefig(tmp_path / "p.png")
    assert (tmp_path / "h.png").stat().st_size > 10_000 and (tmp_path / "p.png").stat().st_size > 10_000
