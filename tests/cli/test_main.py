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


@pytest.mark.parametrize("model", ["sultani", "rtfm", "ngmil", "bnwvad", "crossbatch"])
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


def test_reproduce_on_a_benchmark_layout(benchmark_home, tmp_path):
    out = io.StringIO()
    main(["reproduce", "--dataset", "shanghaitech", "--data-home", str(benchmark_home),
          "--seeds", "1", "--max-epochs", "1", "--n-clusters", "4", "--n-top", "1",
          "--n-snippets", "4", "--quiet", "--output-dir", str(tmp_path)], stdout=out)
    text = out.getvalue()
    assert "dataset=shanghaitech" in text and "| Bot3-Bot3" in text
    # Table 1 counts the clips of the 238 training videos
    from sklearn_wsvad.datasets import load_shanghaitech

    train, _ = load_shanghaitech(benchmark_home)
    top = int(text.split("| Top1   |")[1].split("|")[0].replace(",", ""))
    bot = int(text.split("| Bot3   |")[1].split("|")[0].replace(",", ""))
    assert top + bot == train.n_clips[train.target == 0].sum()


def test_benchmark_without_data_home_or_files(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "--dataset", "ucf-crime"], stdout=io.StringIO())
    assert "pass --data-home" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "--dataset", "ucf-crime", "--data-home", str(tmp_path)],
             stdout=io.StringIO())
    assert "Nothing is downloaded" in capsys.readouterr().err
