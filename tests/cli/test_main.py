import io

import pytest

from sklearn_wsvad.cli.main import main


def test_reproduce_prints_tables_and_writes_figures(tmp_path):
    out = io.StringIO()
    code = main(["reproduce", "--seeds", "2", "--n-videos", "40", "--n-features", "8",
                 "--max-epochs", "2", "--n-clusters", "5", "--n-top", "2", "--quiet",
                 "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert code == 0
    assert "Table 1" in text and "| Top2   |" in text and "| Bot3   |" in text
    for name in ("Baseline", "Top2-Top2", "Bot3-Bot3", "Top2-Bot3", "Bot3-Top2"):
        assert f"| {name}" in text
    assert "over 2 seed(s)" in text
    for fig in ("figure1_roc.png", "figure2_score_histograms.png"):
        assert (tmp_path / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("model", ["sultani", "rtfm"])
def test_reproduce_with_another_mil_classifier(model, tmp_path):
    out = io.StringIO()
    main(["reproduce", "--model", model, "--seeds", "1", "--n-videos", "40", "--n-features",
          "8", "--max-epochs", "1", "--n-clusters", "5", "--n-top", "2", "--quiet",
          "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert f"model={model}" in text and "| Bot3-Bot3" in text


def test_unknown_model_is_rejected():
    with pytest.raises(SystemExit):
        main(["reproduce", "--model", "nope"], stdout=io.StringIO())
