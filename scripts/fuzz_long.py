"""A longer fuzzing run of the .sdw decoder than CI's: the generators of tests/test_fuzz.py for N seconds.

    python scripts/fuzz_long.py --seconds 600 [--seed 1] [--out fuzz-out] [--max-side 1024] [--full-decode 0.02]

Round-robins the generators (mutations of valid files, structured palette and entropy payloads), runs each
input through decode_latent and info with the same time and memory bounds as the tests, and a fraction of
them through the full ``sdweb.decode`` with the tiny random models. A failure is anything but FormatError,
or a bound exceeded; failures are grouped by signature (exception type and the library line that raised
it, or the bound), and the first three inputs of each group are saved to ``--out`` as
``<signature>-<n>.sdw`` for the regression corpus (tests/fuzz_corpus/). Prints counts per generator at
the end: inputs tried, accepted, refused with FormatError, failures.
"""

from __future__ import annotations

import argparse
import collections
import random
import re
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]


def signature(generator: str, error: BaseException) -> str:
    """A short, file-name-safe name for a kind of failure."""
    if isinstance(error, AssertionError) and re.search(r"took|traced", str(error)):
        kind = "slow" if "took" in str(error) else "memory"
        return f"{generator}-{kind}"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/sdweb/" in f.filename]
    where = f"{Path(frames[-1].filename).stem}{frames[-1].lineno}" if frames else "test"
    return f"{generator}-{type(error).__name__}-{where}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=1, help="first random seed (inputs use seed, seed+1, …)")
    parser.add_argument("--out", default="fuzz-out", help="folder for failing inputs")
    parser.add_argument("--max-side", type=int, default=None,
                        help="largest image side the entropy generator claims (default: the tests' ENTROPY_MAX_SIDE)")
    parser.add_argument("--full-decode", type=float, default=0.02,
                        help="fraction of mutated inputs also decoded end to end with the tiny models")
    args = parser.parse_args(argv)

    import test_fuzz as fuzz
    from conftest import build_tiny_models

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model_dir = Path(tempfile.mkdtemp(prefix="fuzz-tiny-models-"))
    build_tiny_models(model_dir)
    max_side = args.max_side or fuzz.ENTROPY_MAX_SIDE
    generators = {
        "mutation": fuzz.mutated,
        "palette": fuzz.palette_structured,
        "entropy": lambda rnd: fuzz.entropy_structured(rnd, max_side=max_side),
    }
    counts = {name: collections.Counter() for name in [*generators, "full-decode"]}
    failures: dict[str, list[int]] = collections.defaultdict(list)
    warnings.simplefilter("ignore")
    seed, stop = args.seed, time.monotonic() + args.seconds
    names = list(generators)
    while time.monotonic() < stop:
        name = names[seed % len(names)]
        rnd = random.Random(seed)
        data = generators[name](rnd)
        checks = [(name, fuzz.check_parsers)]
        if name == "mutation" and rnd.random() < args.full_decode:
            checks.append(("full-decode", lambda d: fuzz.check_full_decode(d, model_dir)))
        for label, check in checks:
            counts[label]["inputs"] += 1
            try:
                counts[label][check(data)] += 1
            except Exception as error:  # noqa: BLE001 - every other outcome is what we are looking for
                counts[label]["failures"] += 1
                key = signature(label, error)
                failures[key].append(seed)
                if len(failures[key]) <= 3:
                    (out / f"{key}-{len(failures[key])}.sdw").write_bytes(data)
                    print(f"seed {seed}: {key}: {str(error).splitlines()[0][:160]}", flush=True)
        seed += 1

    print(f"\n{args.seconds:.0f} s, seeds {args.seed}..{seed - 1}, entropy sides up to {max_side}")
    print(f"{'generator':12} {'inputs':>8} {'ok':>8} {'FormatError':>12} {'failures':>9}")
    for label, c in counts.items():
        print(f"{label:12} {c['inputs']:8d} {c['ok']:8d} {c['FormatError']:12d} {c['failures']:9d}")
    total = sum(c["inputs"] for c in counts.values())
    print(f"{'total':12} {total:8d} {'':8} {'':12} {sum(c['failures'] for c in counts.values()):9d}")
    for key, seeds in sorted(failures.items()):
        print(f"  {key}: {len(seeds)} inputs, e.g. seeds {seeds[:5]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
