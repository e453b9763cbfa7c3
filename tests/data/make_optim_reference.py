"""Reference values for tests/test_optim.cpp, from PyTorch 1.13 (run offline:
/usr/bin/python3 tests/data/make_optim_reference.py > tests/data/optim_reference.txt).

Problem: two parameter groups, w (3 values) with lr and M (2x2) with lr/2, and
    loss = 0.5 * sum(a * (w - c)**2) + 0.25 * sum((M - D)**4)
so grad_w = a * (w - c) and grad_M = (M - D)**3. Each optimizer configuration
runs 6 steps in float64; after each step the line
    optimizer <config> <step> w0 w1 w2 M00 M01 M10 M11
is printed. Then the lr of a few schedulers over 15 epochs:
    scheduler <name> lr_0 lr_1 ... lr_14
"""
import torch

torch.set_default_dtype(torch.float64)
a = torch.tensor([1.0, 3.0, 0.5])
c = torch.tensor([0.2, -0.4, 1.0])
D = torch.tensor([[0.5, -0.5], [0.25, 1.0]])


def run(name, make, options, steps=6):
    w = torch.tensor([0.5, -1.2, 2.0], requires_grad=True)
    M = torch.tensor([[0.3, -0.7], [1.1, 0.4]], requires_grad=True)
    lr = options.pop("lr")
    opt = make([{"params": [w], "lr": lr}, {"params": [M], "lr": lr / 2}], **options)
    for step in range(1, steps + 1):
        opt.zero_grad()
        loss = 0.5 * (a * (w - c) ** 2).sum() + 0.25 * ((M - D) ** 4).sum()
        loss.backward()
        opt.step()
        values = torch.cat([w.detach().flatten(), M.detach().flatten()]).tolist()
        print("optimizer", name, step, " ".join("%.17g" % v for v in values))


O = torch.optim
run("sgd", O.SGD, dict(lr=0.1))
run("sgd_momentum", O.SGD, dict(lr=0.1, momentum=0.9))
run("sgd_dampening", O.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5))
run("sgd_nesterov", O.SGD, dict(lr=0.1, momentum=0.9, nesterov=True))
run("sgd_weight_decay", O.SGD, dict(lr=0.1, momentum=0.5, weight_decay=0.2, nesterov=True))
run("adam", O.Adam, dict(lr=0.1))
run("adam_weight_decay", O.Adam, dict(lr=0.1, weight_decay=0.3))
run("adam_amsgrad", O.Adam, dict(lr=0.1, betas=(0.8, 0.5), amsgrad=True))
run("adamw", O.AdamW, dict(lr=0.1))
run("adamw_decay_amsgrad", O.AdamW, dict(lr=0.1, betas=(0.8, 0.5), weight_decay=0.5, amsgrad=True))
run("rmsprop", O.RMSprop, dict(lr=0.01))
run("rmsprop_centered", O.RMSprop, dict(lr=0.01, alpha=0.9, centered=True))
run("rmsprop_momentum", O.RMSprop, dict(lr=0.01, momentum=0.9, weight_decay=0.1))
run("rmsprop_all", O.RMSprop, dict(lr=0.01, alpha=0.8, momentum=0.5, centered=True, weight_decay=0.1))
run("adagrad", O.Adagrad, dict(lr=0.1))
run("adagrad_all", O.Adagrad, dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5))


def schedule(name, make, epochs=15):
    p = torch.zeros(1, requires_grad=True)
    opt = O.SGD([p], lr=0.5)
    sched = make(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    print("scheduler", name, " ".join("%.17g" % v for v in lrs))


S = O.lr_scheduler
schedule("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5))
schedule("exponential", lambda o: S.ExponentialLR(o, gamma=0.9))
schedule("cosine", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01))
schedule("linear", lambda o: S.LinearLR(o, start_factor=0.25, total_iters=4))
schedule("sequential", lambda o: S.SequentialLR(
    o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.CosineAnnealingLR(o, T_max=8)], milestones=[3]))
