# Scores 2-D samples of the zoo's toy models (moons-mlp, swiss-roll-mlp) against the exact density of their data: the
# samples.csv that `diffusion-ml sample` writes for points. Plain Python 3, no packages. The curves and noise are those
# of Diffusion.ML.Data.TwoMoons and SwissRoll with their defaults (as `diffusion-ml train --dataset moons|swiss-roll`).
# usage: python3 zoo/toy-metrics.py moons|swiss-roll samples.csv
import csv, math, random, sys

name, path = sys.argv[1], sys.argv[2]
M = 4000                                            # quadrature points per curve
if name == "moons":                                 # Diffusion.ML.Data.TwoMoons: noise 0.1, t ~ U(0, pi), either arc
    sigma = 0.1
    ts = [math.pi * (i + 0.5) / M for i in range(M)]
    curve = [(math.cos(t), math.sin(t)) for t in ts] + [(1 - math.cos(t), 0.5 - math.sin(t)) for t in ts]
elif name == "swiss-roll":                          # Diffusion.ML.Data.SwissRoll: noise 0.2, 0.2 (a cos a, a sin a), a ~ U(1.5 pi, 4.5 pi)
    sigma = 0.2
    ts = [1.5 * math.pi + 3 * math.pi * (i + 0.5) / M for i in range(M)]
    curve = [(0.2 * a * math.cos(a), 0.2 * a * math.sin(a)) for a in ts]
else:
    sys.exit("moons or swiss-roll")

def score(points):
    """Mean log-density (nats) under the exact density, and the fraction within 3 sigma of the noiseless curve."""
    total, near = 0.0, 0
    log_norm = -math.log(2 * math.pi * sigma * sigma) - math.log(len(curve))
    for x, y in points:
        d2 = [(x - cx) ** 2 + (y - cy) ** 2 for cx, cy in curve]
        m = min(d2)
        total += log_norm - m / (2 * sigma * sigma) + math.log(sum(math.exp(-(d - m) / (2 * sigma * sigma)) for d in d2))
        near += m <= (3 * sigma) ** 2
    return total / len(points), near / len(points)

with open(path) as f:
    samples = [(float(r["x0"]), float(r["x1"])) for r in csv.DictReader(f)]
rng = random.Random(0)                              # the same number of points drawn from the data process itself
data = [(cx + sigma * rng.gauss(0, 1), cy + sigma * rng.gauss(0, 1)) for cx, cy in (rng.choice(curve) for _ in samples)]
s, d = score(samples), score(data)
print(f"{name}: {len(samples)} samples: mean log-density {s[0]:.3f} nats, within 3 sigma of the curve {s[1]:.4f}; "
      f"data drawn from the process: {d[0]:.3f} nats, {d[1]:.4f}")
