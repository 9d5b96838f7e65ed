"""BG/NBD and Gamma-Gamma fitted on CDNOW master (23,570 customers, 69,659
transactions, calibration to 1997-09-30, weeks as days / 7): patron against
lifetimes 0.11.3, in the same run, on the same histories.

Target (issue 3): at least 10x faster than lifetimes, with the same
parameters to 1e-4.

    make bench-python
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import patron

DATA = Path(__file__).resolve().parents[2] / "target" / "data" / "lifetimes" / "datasets" / "CDNOW_master.txt"
END = "1997-09-30"


def best_time(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    rows = [line.split() for line in DATA.read_text().splitlines() if line.strip()][1:]
    transactions = [
        {"contact_id": r[0], "date": f"{r[1][:4]}-{r[1][4:6]}-{r[1][6:]}", "amount": float(r[3])} for r in rows
    ]
    t_summary, histories = best_time(lambda: patron.predict_histories(transactions, END))
    t_bg, bg = best_time(lambda: patron.bgnbd_fit(histories))
    t_gg, gg = best_time(lambda: patron.gamma_gamma_fit(histories))
    print(f"CDNOW master: {len(transactions)} transactions, {len(histories)} customers")
    print(f"  patron    histories {t_summary:7.3f} s  BG/NBD fit {t_bg:7.3f} s  Gamma-Gamma fit {t_gg:7.3f} s")

    try:
        import pandas as pd
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    except ImportError:
        print("  lifetimes is not installed: pip install -r benches/python/requirements.txt")
        return

    # The same histories in lifetimes' own columns, so both fit identical data.
    frame = pd.DataFrame(histories)
    repeat = frame[(frame["frequency"] > 0) & (frame["monetary"] > 0)]
    t_lbg, lbg = best_time(lambda: BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["age"]))
    t_lgg, lgg = best_time(lambda: GammaGammaFitter().fit(repeat["frequency"], repeat["monetary"]))
    print(f"  lifetimes                      BG/NBD fit {t_lbg:7.3f} s  Gamma-Gamma fit {t_lgg:7.3f} s")
    print(f"  ratio lifetimes / patron: BG/NBD {t_lbg / t_bg:.1f}x, Gamma-Gamma {t_lgg / t_gg:.1f}x (target 10x)")

    ours = {**bg["model"], **gg["model"]}
    theirs = {**lbg.params_.to_dict(), **{"p": lgg.params_["p"], "q": lgg.params_["q"], "gamma": lgg.params_["v"]}}
    worst = 0.0
    for name in ("r", "alpha", "a", "b", "p", "q", "gamma"):
        diff = abs(ours[name] - theirs[name])
        worst = max(worst, diff)
        print(f"  {name:6} patron {ours[name]:.6f}  lifetimes {theirs[name]:.6f}  |diff| {diff:.1e}")
    print(f"  largest parameter difference {worst:.1e} (target 1e-4): {'met' if worst <= 1e-4 else 'NOT met'}")


if __name__ == "__main__":
    main()
