"""PyTorch baseline for `diffusion-ml bench`: the same UNet as Diffusion.ML's (src/Diffusion.ML.TorchSharp/Modules/UNet.cs),
trained with the same DDPM step (noise, MSE, AdamW, gradient clipping, EMA), evaluated forward-only, sampled with
DDIM and classifier-free guidance, or a plain sgemm (the machine's matrix-multiply rate).
Prints one JSON line. Runs on Debian's python3-torch 1.13 (no scaled_dot_product_attention there: written out) and on
any later PyTorch, on the CPU or a CUDA device (--device; the clock then waits for the device before it starts and stops)."""
import argparse, json, math, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def group_norm(groups, channels):
    return nn.GroupNorm(groups, channels)


class TimestepEmbedding(nn.Module):
    def __init__(self, dim, emb):
        super().__init__()
        self.dim = dim
        self.linear1, self.linear2 = nn.Linear(dim, emb), nn.Linear(emb, emb)

    def forward(self, t):
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * (-math.log(10000.0) / half))
        args = t.float().reshape(-1, 1) * freqs.unsqueeze(0)
        return self.linear2(F.silu(self.linear1(torch.cat([args.sin(), args.cos()], 1))))


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1, self.conv1 = group_norm(groups, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.proj = nn.Linear(emb, cout)
        self.norm2, self.conv2 = group_norm(groups, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = None if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, e):
        h = self.conv1(F.silu(self.norm1(x))) + self.proj(F.silu(e))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class AttentionBlock(nn.Module):
    def __init__(self, c, heads, groups):
        super().__init__()
        self.heads, self.norm = heads, group_norm(groups, c)
        self.qkv, self.proj = nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)

    def forward(self, x, e=None):
        b, c, h, w = x.shape
        d = c // self.heads
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, d, h * w).permute(1, 0, 2, 4, 3)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1) @ v
        return x + self.proj(a.permute(0, 1, 3, 2).reshape(b, c, h, w))


class Down(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x, e=None):
        return self.conv(x)


class Up(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x, e=None):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Stage(nn.ModuleList):
    def forward(self, x, e):
        for m in self:
            x = m(x, e)
        return x


class UNet(nn.Module):
    def __init__(self, channels=1, size=28, base=64, mults=(1, 2, 2), blocks=2, attn=(14, 7), heads=4, groups=32, classes=10):
        super().__init__()
        emb = 4 * base
        self.time = TimestepEmbedding(base, emb)
        self.classes = nn.Embedding(classes + 1, emb) if classes > 0 else None
        self.inp = nn.Conv2d(channels, base, 3, padding=1)
        enc, skips, ch, res = [], [base], base, size
        for level, m in enumerate(mults):
            for _ in range(blocks):
                s = [ResidualBlock(ch, base * m, emb, groups)]
                ch = base * m
                if res in attn:
                    s.append(AttentionBlock(ch, heads, groups))
                enc.append(Stage(s))
                skips.append(ch)
            if level < len(mults) - 1:
                enc.append(Stage([Down(ch)]))
                skips.append(ch)
                res //= 2
        self.encoder = nn.ModuleList(enc)
        self.middle = Stage([ResidualBlock(ch, ch, emb, groups), AttentionBlock(ch, heads, groups), ResidualBlock(ch, ch, emb, groups)])
        dec = []
        for level in reversed(range(len(mults))):
            for i in range(blocks + 1):
                s = [ResidualBlock(ch + skips.pop(), base * mults[level], emb, groups)]
                ch = base * mults[level]
                if res in attn:
                    s.append(AttentionBlock(ch, heads, groups))
                if level > 0 and i == blocks:
                    s.append(Up(ch))
                    res *= 2
                dec.append(Stage(s))
        self.decoder = nn.ModuleList(dec)
        self.out_norm, self.out = group_norm(groups, ch), nn.Conv2d(ch, channels, 3, padding=1)

    def forward(self, x, t, y):
        e = self.time(t)
        if self.classes is not None:
            e = e + self.classes(y)
        h = self.inp(x)
        hs = [h]
        for s in self.encoder:
            h = s(h, e)
            hs.append(h)
        h = self.middle(h, e)
        for s in self.decoder:
            h = s(torch.cat([h, hs.pop()], 1), e)
        return self.out(F.silu(self.out_norm(h)))


def ddim_timesteps(steps, train_steps=1000):
    # "leading" spacing (Lin et al. 2024, Table 2), Diffusion.ML's and diffusers' default: t_i = i * (T // S), descending
    return [i * (train_steps // steps) for i in reversed(range(steps))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["train", "forward", "ddim", "sgemm"], default="train")
    p.add_argument("--base", type=int, default=64)
    p.add_argument("--attention", default="14,7")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--sampling-steps", type=int, default=20)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--matrix", type=int, default=2048)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    wait = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    if a.mode == "sgemm":
        m1, m2 = torch.randn(a.matrix, a.matrix, device=dev), torch.randn(a.matrix, a.matrix, device=dev)
        for _ in range(a.warmup):
            torch.mm(m1, m2)
        wait()
        start = time.perf_counter()
        for _ in range(a.steps):
            torch.mm(m1, m2)
        wait()
        seconds = time.perf_counter() - start
        report(a, 0, a.steps / seconds, 2.0 * a.matrix ** 3 * a.steps / seconds / 1e9)
        return
    attn = tuple(int(v) for v in a.attention.split(",") if v)
    net = UNet(size=a.size, base=a.base, attn=attn, groups=min(32, a.base), classes=a.classes).to(dev)
    params = sum(p.numel() for p in net.parameters())
    ema = [p.detach().clone() for p in net.parameters()]
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.0)
    abar = torch.cumprod(1 - torch.linspace(1e-4, 0.02, 1000), 0).to(dev)
    x0 = torch.rand(a.batch, 1, a.size, a.size, device=dev) * 2 - 1
    y = torch.randint(0, max(a.classes, 1), (a.batch,), device=dev)

    def sample():
        # DDIM, eta = 0 (Song et al. 2021, eq. 12) with classifier-free guidance (Ho & Salimans 2022): one network call
        # on the doubled batch (class, null class) per step, as Diffusion.ML's SamplingContext does.
        net.eval()
        with torch.inference_mode():
            x = torch.randn(a.batch, 1, a.size, a.size, device=dev)
            labels = torch.cat([y, torch.full_like(y, a.classes)])
            ts = ddim_timesteps(a.sampling_steps)
            for i, t in enumerate(ts):
                out = net(torch.cat([x, x]), torch.full((2 * a.batch,), float(t), device=dev), labels)
                cond, uncond = out.chunk(2)
                eps = uncond + a.guidance * (cond - uncond)
                ab, ab_prev = abar[t], (abar[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0, device=dev))
                x0_hat = ((x - (1 - ab).sqrt() * eps) / ab.sqrt()).clamp(-1, 1)
                x = ab_prev.sqrt() * x0_hat + (1 - ab_prev).sqrt() * eps

    def step():
        if a.mode == "forward":
            with torch.inference_mode():
                net(x0, torch.randint(0, 1000, (a.batch,), device=dev).float(), y)
            return
        if a.mode == "ddim":
            sample()
            return
        t = torch.randint(0, 1000, (a.batch,), device=dev)
        eps = torch.randn_like(x0)
        ab = abar[t].reshape(-1, 1, 1, 1)
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        opt.zero_grad()
        loss = F.mse_loss(net(xt, t.float(), y), eps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.mul_(0.999).add_(p, alpha=0.001)

    for _ in range(a.warmup):
        step()
    wait()
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    wait()
    seconds = time.perf_counter() - start
    report(a, params, a.steps / seconds, a.steps * a.batch / seconds)


def report(a, params, steps_per_second, rate):
    # rate: images/s (train, ddim), evaluations/s (forward) or GFLOP/s (sgemm); ru_maxrss is in KiB on Linux
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "parameters": params,
                      "steps_per_second": steps_per_second, "rate": rate, "images_per_second": rate,
                      "peak_working_set_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
