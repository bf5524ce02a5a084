import math

from sdweb.scoreboard import COLUMNS, best, columns, summary


def _report(*rows):
    return {"results": [dict(row) for row in rows]}


ROW = dict(bytes=1000, bpp=0.1, compression_ratio=100.0, psnr=25.0, ssim=0.7, ms_ssim=0.9, ssimulacra2=10.0,
           lpips=None, encode_s=1.0, decode_s=0.1, over_target=False)


def test_best_respects_direction_and_ties():
    report = _report(ROW, {**ROW, "bytes": 900, "psnr": 27.0, "decode_s": 0.1}, {**ROW, "psnr": 27.0})
    winners = best(report)
    assert winners["bytes"] == {1}
    assert winners["psnr"] == {1, 2}
    assert winners["decode_s"] == {0, 1, 2}
    assert "lpips" not in winners  # no values anywhere: the column is dropped


def test_over_target_rows_are_not_ranked_unless_all_are():
    report = _report(ROW, {**ROW, "psnr": 40.0, "over_target": True})
    assert best(report)["psnr"] == {0}
    both_over = _report({**ROW, "over_target": True}, {**ROW, "psnr": 40.0, "over_target": True})
    assert best(both_over)["psnr"] == {1}


def test_columns_and_formatting():
    keys = [c.key for c in columns(_report(ROW))]
    assert "lpips" not in keys and keys[0] == "bytes"
    assert "lpips" in [c.key for c in columns(_report({**ROW, "lpips": 0.3}))]
    by_key = {c.key: c for c in COLUMNS}
    assert by_key["bytes"].format(12345) == "12,345"
    assert by_key["lpips"].format(None) == "—"
    assert by_key["psnr"].format(math.inf) == "∞"
    assert summary(ROW) == "PSNR 25.00 dB · MS-SSIM 0.9000 · SSIMULACRA 2 10.0"
