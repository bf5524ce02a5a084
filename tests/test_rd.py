import pytest

from sdweb import rd

ANCHOR = [(0.1, 25.0), (0.2, 28.0), (0.4, 31.0), (0.8, 34.0)]


def test_identical_curves_have_zero_bd_rate():
    assert rd.bd_rate(ANCHOR, ANCHOR) == pytest.approx(0.0, abs=1e-9)


def test_half_the_rate_for_the_same_quality_is_minus_fifty_percent():
    half = [(r / 2, q) for r, q in ANCHOR]
    assert rd.bd_rate(ANCHOR, half) == pytest.approx(-50.0, abs=1e-6)
    assert rd.bd_rate(half, ANCHOR) == pytest.approx(100.0, abs=1e-6)


def test_no_overlap_or_too_few_points_gives_none():
    assert rd.bd_rate(ANCHOR, [(0.1, 40.0), (0.2, 41.0)]) is None
    assert rd.bd_rate(ANCHOR, [(0.1, 26.0)]) is None


def test_mean_curves_only_average_complete_targets():
    rows = [
        {"image": "a", "codec": "x", "target": "0.1bpp", "bpp": "0.1", "psnr": "30"},
        {"image": "b", "codec": "x", "target": "0.1bpp", "bpp": "0.3", "psnr": "20"},
        {"image": "a", "codec": "x", "target": "0.2bpp", "bpp": "0.2", "psnr": "33"},
        {"image": "b", "codec": "x", "target": "0.2bpp", "bpp": "0.2", "psnr": ""},  # missing
    ]
    assert rd.mean_curves(rows, "psnr") == {"x": [(0.2, 25.0)]}


def test_bd_table_and_markdown():
    rows = []
    for codec, scale in (("anchor", 1.0), ("better", 0.8)):
        for i, (r, q) in enumerate(ANCHOR):
            rows.append({"image": "a", "codec": codec, "target": str(i), "bpp": r * scale, "psnr": q})
    table = rd.bd_table(rows, ["anchor"], metrics=("psnr",))
    assert table[0]["codec"] == "better" and table[0]["bd_rate"] == pytest.approx(-20.0, abs=1e-6)
    text = rd.markdown(table, [("codec", "codec", ""), ("bd_rate", "BD %", "+.1f")])
    assert "| better | -20.0 |" in text
