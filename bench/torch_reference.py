#!/usr/bin/python3
"""The WA-U-Net of ../shared/REFERENCE.md in PyTorch: an independent
implementation used two ways.

  torch_reference.py golden OUT.h5   writes the golden fixture for the C engine:
                                     weights of a small configuration (in the
                                     checkpoint layout of PRODUCT.md), an input,
                                     a target, the output, the MSE loss and the
                                     gradients of every v, g and b, in float64.
  torch_reference.py bench [--threads 2] [--json] [--device cuda [--tf32]]
                                     times a 1x1x1024x1024 forward and a
                                     10x1x192x192 training step (forward,
                                     backward, Adam update), as clrestore bench
                                     compares against. --device cuda runs it
                                     on the GPU through cuDNN in fp32 (TF32
                                     off unless --tf32), with cudnn.benchmark
                                     choosing each convolution's algorithm in
                                     the warm-up, and synchronises around
                                     every timed call.

Uses Debian's python3-torch (1.13) and python3-h5py. For the bench, PyTorch
on 2 CPU threads is 3x faster with jemalloc (PERF-NOTES.md); this script
re-executes itself under libjemalloc.so.2 when it is installed and not
already loaded, unless --no-jemalloc is given.
"""
import argparse
import json
import os
import sys
import time

JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
JEMALLOC_CONF = "oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1"


def maybe_reexec_with_jemalloc(argv):
    if "--no-jemalloc" in argv or not os.path.exists(JEMALLOC):
        return
    if JEMALLOC in os.environ.get("LD_PRELOAD", ""):
        return
    env = dict(os.environ, LD_PRELOAD=JEMALLOC, MALLOC_CONF=JEMALLOC_CONF)
    os.execve(sys.executable, [sys.executable] + argv, env)


import torch  # noqa: E402  (after the re-exec decision)
import torch.nn.functional as F  # noqa: E402


def same_pad(x, k, stride):
    """TensorFlow 'same' padding: total = max((out-1)*s + k - in, 0), the
    smaller half before (REFERENCE.md: k=4 pads 1 before, 2 after)."""
    h, w = x.shape[-2:]
    oh, ow = -(-h // stride), -(-w // stride)
    th = max((oh - 1) * stride + k - h, 0)
    tw = max((ow - 1) * stride + k - w, 0)
    return F.pad(x, (tw // 2, tw - tw // 2, th // 2, th - th // 2))


class Conv:
    """k x k convolution with bias and weight normalisation W = g v/|v| per
    output channel (Salimans & Kingma 2016), in a flat list so the layer order
    is the checkpoint order."""

    def __init__(self, layers, name, k, cin, cout, stride=1):
        self.name, self.k, self.cin, self.cout, self.stride = name, k, cin, cout, stride
        layers.append(self)

    def init(self, gen, dtype):
        # Glorot-uniform (fan = k*k*channels); v = W, g = |W|, b = 0 (REFERENCE.md)
        fan_in, fan_out = self.k * self.k * self.cin, self.k * self.k * self.cout
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        w = (torch.rand((self.cout, self.cin, self.k, self.k), generator=gen, dtype=torch.float64) * 2 - 1) * limit
        self.v = w.to(dtype).clone().requires_grad_()
        self.g = w.flatten(1).norm(dim=1).to(dtype).detach().clone().requires_grad_()
        # small random biases instead of zeros so the fixture checks that they are used
        self.b = ((torch.rand(self.cout, generator=gen, dtype=torch.float64) - 0.5) * 0.1).to(dtype).requires_grad_()

    def weight(self):
        norm = self.v.flatten(1).norm(dim=1)
        return self.v * (self.g / norm).view(-1, 1, 1, 1)

    def __call__(self, x):
        return F.conv2d(same_pad(x, self.k, self.stride), self.weight(), self.b, stride=self.stride)


def depth_to_space(x):
    """TensorFlow order: output channel c at sub-pixel (i, j) reads input
    channel (2i + j)*C + c (differs from torch.pixel_shuffle)."""
    n, c4, h, w = x.shape
    c = c4 // 4
    return x.view(n, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c, 2 * h, 2 * w)


class WAUNet:
    def __init__(self, levels=3, blocks=4, filters=32, expansion=4):
        self.levels, self.blocks, self.f, self.e = levels, blocks, filters, expansion
        self.layers = []
        L, f, e = self.layers, filters, expansion
        self.inp = Conv(L, "input", 3, 1, f)
        self.enc = []
        for lv in range(levels):
            blk = [self._wa(f"enc{lv}.block{b}", f, f, e, 3) for b in range(blocks - 1)]
            blk.append(self._wa(f"enc{lv}.block{blocks - 1}", f, f, e, 3, stride=True))
            self.enc.append(blk)
        self.dec = []
        for lv in reversed(range(levels)):
            upj = self._up(f"dec{lv}.up_skip", f, e)
            merge = Conv(L, f"dec{lv}.merge", 1, 2 * f, f)
            blk = [self._wa(f"dec{lv}.block{b}", f, f, e, 4) for b in range(blocks - 1)]
            up = self._up(f"dec{lv}.up", f, e)
            self.dec.append((lv, upj, merge, blk, up))
        self.out1 = Conv(L, "output.hidden", 1, f, f)
        self.out2 = Conv(L, "output.final", 1, f, 1)

    def _wa(self, name, cin, f, e, k, stride=False):
        L = self.layers
        convs = [Conv(L, name + ".expand", 1, cin, f * e), Conv(L, name + ".bottleneck", 1, f * e, int(0.8 * f)),
                 Conv(L, name + f".conv{k}", k, int(0.8 * f), f)]
        if stride:
            convs.append(Conv(L, name + ".down", 3, f, f, stride=2))
        return convs

    def _up(self, name, f, e):
        return (Conv(self.layers, name + ".conv", 1, f, 4 * f), self._wa(name + ".block", 4 * f, 4 * f, e, 4))

    @staticmethod
    def wa_block(x, convs):
        y = convs[2](convs[1](F.relu(convs[0](x))))
        out = x + y
        if len(convs) == 4:
            out = F.relu(convs[3](out))
        return out

    def up(self, x, up):
        conv, blk = up
        return depth_to_space(self.wa_block(F.relu(conv(x)), blk))

    def forward(self, image):
        x = self.inp(image)
        skips = []
        for blk in self.enc:
            j = F.max_pool2d(x, 2)
            for convs in blk:
                x = self.wa_block(x, convs)
            x = x + j
            skips.append(x)
        for lv, upj, merge, blk, up in self.dec:
            j = self.up(x, upj)
            x = F.relu(merge(torch.cat([x, skips[lv]], dim=1)))
            for convs in blk:
                x = self.wa_block(x, convs)
            x = self.up(x, up) + j
        return self.out2(F.relu(self.out1(x)))

    def init(self, seed, dtype, device="cpu"):
        gen = torch.Generator().manual_seed(seed)
        for c in self.layers:
            c.init(gen, dtype)
            if device != "cpu":  # the same values as on the CPU, then moved
                c.v, c.g, c.b = (t.detach().to(device).requires_grad_() for t in (c.v, c.g, c.b))

    def params(self):
        return [t for c in self.layers for t in (c.v, c.g, c.b)]

    def count(self):
        return sum(c.k * c.k * c.cin * c.cout + c.cout for c in self.layers)

    def macs_per_pixel(self, h, w):
        """Multiply-adds of the convolutions per input pixel (each layer's
        output area relative to the input)."""
        # trace shapes with a meta forward
        total = 0
        hooks = []
        orig = Conv.__call__

        def counting(conv, x):
            nonlocal total
            y = orig(conv, x)
            total += y.shape[-1] * y.shape[-2] * conv.k * conv.k * conv.cin * conv.cout
            return y

        Conv.__call__ = counting
        try:
            with torch.no_grad():
                self.forward(torch.zeros(1, 1, h, w, dtype=self.layers[0].v.dtype))
        finally:
            Conv.__call__ = orig
        del hooks
        return total / (h * w)


def cmd_golden(args):
    import h5py
    import numpy as np

    torch.manual_seed(0)
    dtype = torch.float64
    net = WAUNet(args.levels, args.blocks, args.filters, args.expansion)
    net.init(args.seed, dtype)
    gen = torch.Generator().manual_seed(args.seed + 1)
    x = torch.randn((args.batch, 1, args.size, args.size), generator=gen, dtype=dtype)
    t = torch.randn((args.batch, 1, args.size, args.size), generator=gen, dtype=dtype)
    x.requires_grad_()
    y = net.forward(x)
    loss = ((y - t) ** 2).mean()
    loss.backward()
    with h5py.File(args.out, "w") as h:
        h.attrs["format"] = "clrestore-checkpoint"
        h.attrs["format_version"] = 1
        h.attrs["levels"] = args.levels
        h.attrs["blocks"] = args.blocks
        h.attrs["filters"] = args.filters
        h.attrs["expansion"] = args.expansion
        h.attrs["encoder_kernel"] = 3
        h.attrs["decoder_kernel"] = 4
        h.attrs["generator"] = "bench/torch_reference.py golden (PyTorch %s, float64)" % torch.__version__
        for i, c in enumerate(net.layers):
            g = h.create_group("layers/%03d" % i)
            g.attrs["name"] = c.name
            g.attrs["kernel"] = c.k
            g.attrs["stride"] = c.stride
            g["v"] = c.v.detach().numpy()
            g["g"] = c.g.detach().numpy()
            g["b"] = c.b.detach().numpy()
            gg = h.create_group("golden/grad/%03d" % i)
            gg["v"] = c.v.grad.numpy()
            gg["g"] = c.g.grad.numpy()
            gg["b"] = c.b.grad.numpy()
        h["golden/input"] = x.detach().numpy()
        h["golden/target"] = t.numpy()
        h["golden/output"] = y.detach().numpy()
        h["golden/loss"] = np.array(loss.item())
        h["golden/grad_input"] = x.grad.numpy()
    print("wrote %s: %d layers, %d parameters, loss %.12g" % (args.out, len(net.layers), net.count(), loss.item()))


def cmd_bench(args):
    torch.set_num_threads(args.threads)
    dev = args.device
    cuda = dev.startswith("cuda")
    if cuda:
        # plain fp32 arithmetic as our kernels do, unless asked: PyTorch enables TF32 for
        # cuDNN convolutions by default (10-bit mantissa products)
        torch.backends.cudnn.allow_tf32 = args.tf32
        torch.backends.cuda.matmul.allow_tf32 = args.tf32
        torch.backends.cudnn.benchmark = True

    def sync():
        if cuda:
            torch.cuda.synchronize()

    net = WAUNet()
    net.init(1, torch.float32)
    macs = net.macs_per_pixel(192, 192)
    net.init(1, torch.float32, dev)
    res = {"torch": torch.__version__, "threads": args.threads,
           "jemalloc": JEMALLOC in os.environ.get("LD_PRELOAD", ""), "parameters": net.count(),
           "macs_per_pixel": macs, "device": torch.cuda.get_device_name() if cuda else "cpu"}
    if cuda:
        res["cudnn"] = torch.backends.cudnn.version()
        res["tf32"] = args.tf32
    with torch.no_grad():
        x = torch.randn(1, 1, args.size, args.size).to(dev)
        net.forward(x)  # warm-up (and cuDNN's algorithm search)
        sync()
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            net.forward(x)
            sync()
            times.append(time.perf_counter() - t0)
    fwd = sorted(times)[len(times) // 2]
    import resource
    # peak resident memory of the process so far: the model plus the 1024² forwards
    res["forward_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if cuda:
        res["forward_peak_device_mib"] = torch.cuda.max_memory_allocated() / 2**20
    res["forward_size"] = args.size
    res["forward_ms"] = fwd * 1e3
    res["forward_gflops"] = 2 * macs * args.size * args.size / fwd / 1e9
    opt = torch.optim.Adam(net.params(), lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    xb, tb = torch.randn(10, 1, 192, 192).to(dev), torch.randn(10, 1, 192, 192).to(dev)

    def step():
        opt.zero_grad()
        loss = ((net.forward(xb) - tb) ** 2).mean()
        loss.backward()
        opt.step()

    step()  # warm-up
    sync()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    st = sorted(times)[len(times) // 2]
    res["train_step_ms"] = st * 1e3
    # forward + backward = 3x the forward multiply-adds
    res["train_gflops"] = 3 * 2 * macs * 10 * 192 * 192 / st / 1e9
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print("%-16s %s" % (k, v))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden")
    g.add_argument("out")
    g.add_argument("--levels", type=int, default=2)
    g.add_argument("--blocks", type=int, default=2)
    g.add_argument("--filters", type=int, default=4)
    g.add_argument("--expansion", type=int, default=2)
    g.add_argument("--size", type=int, default=16)
    g.add_argument("--batch", type=int, default=2)
    g.add_argument("--seed", type=int, default=7)
    b = sub.add_parser("bench")
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--size", type=int, default=1024)
    b.add_argument("--repeat", type=int, default=3)
    b.add_argument("--json", action="store_true")
    b.add_argument("--no-jemalloc", action="store_true")
    b.add_argument("--device", default="cpu", help="cpu, or cuda for cuDNN on an NVIDIA GPU")
    b.add_argument("--tf32", action="store_true", help="with --device cuda: let cuDNN use TF32")
    args = p.parse_args(argv)
    return cmd_golden(args) if args.cmd == "golden" else cmd_bench(args)


if __name__ == "__main__":
    maybe_reexec_with_jemalloc([os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(main(sys.argv[1:]))
