# torch.optim.AdamW over one flat float32 parameter of n elements; prints the median seconds per
# step (after one warm-up step). Run with OMP_WAIT_POLICY=PASSIVE (DESIGN.md: 2.6x faster here).
import sys, time, torch

n, steps = int(sys.argv[1]), int(sys.argv[2])
p = torch.nn.Parameter(torch.randn(n) * 0.1)
p.grad = torch.randn(n) * 1e-2
opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=1e-2)
opt.step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    opt.step()
    times.append(time.perf_counter() - t0)
times.sort()
print(f"{times[len(times) // 2]:.9f} {torch.get_num_threads()}")
