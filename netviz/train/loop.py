"""The training run: model, data, checks, loop, evaluation, checkpoints.

:func:`train` is what ``netviz train`` calls; it returns the run's metrics
(and the trained module) and raises :class:`~netviz.errors.NetvizError`
subclasses for bad input (exit 2), failed checks and a diverging loss
(exit 1), and :class:`Interrupted` on Ctrl-C (exit 130, after saving).
"""
from __future__ import annotations

import importlib
import math
import time

from ..errors import CheckFailed, UsageError
from . import checkpoint as ckpt
from .config import (DEFAULT_EPOCHS, ESTIMATE_AFTER, SEQUENCE_LR, Diverged, Interrupted,  # noqa: F401
                     TrainConfig, check_config, defaults, lr_at)
from . import distributed as dd
from .report import Progress, check_outputs, fmt_time, write_outputs
from .tasks import chance_mean_iou, dense_metrics, evaluate, loss_function, make_data, mean_iou


def train(cfg: TrainConfig, echo=print, on_step=None):
    """Run training as ``cfg`` says; returns (metrics dict, trained module).

    ``echo`` prints a line (rank 0 only); ``on_step(step, module)`` is called
    after every optimiser step (a KeyboardInterrupt raised there is a Ctrl-C)."""
    from ..models import is_trace_target, load
    from .data import folder_classes
    check_config(cfg)
    if cfg.data:  # bad input is reported before torch is imported
        folder_classes(cfg.data)
    if not is_trace_target(cfg.model):
        load(cfg.model, input=cfg.input)
    check_outputs(cfg)  # an unwritable output is said now, not after training
    try:
        importlib.import_module("torch")  # installed, and not broken
    except ImportError:
        raise UsageError("netviz train needs PyTorch, which is not installed: "
                         "pip install 'netviz[torch]'") from None
    from ..devices import resolve_device
    from .runtime import global_state
    dist = dd.from_env()
    device = resolve_device(cfg.device, dist.local_rank, meta=False)
    dd.init(dist, device)
    try:
        with global_state():  # threads, determinism, cuDNN flags: as they were, afterwards
            return _Run(cfg, device, dist, echo if dist.main else (lambda *a, **k: None),
                        on_step).run()
    finally:
        dd.close(dist)


class _Run:
    def __init__(self, cfg, device, dist, echo, on_step):
        self.length_given = cfg.steps is not None or cfg.epochs is not None
        self.lr_given = cfg.lr is not None
        self.cfg = defaults(cfg, device.type == "cuda")
        self.device, self.dist, self.echo, self.on_step = device, dist, echo, on_step
        self.history = {"loss": [], "train_acc": [], "val": []}
        self.metrics: dict = {}

    # -- setting up ----------------------------------------------------------
    def prepare(self):
        import torch
        from ..models import is_trace_target
        from . import data as D
        from .model import prepare_network, prepare_target
        from .runtime import (HEAVY_MACS_PER_STEP, compile_pays, device_name, fast_path,
                              setup_backends)
        cfg = self.cfg
        setup_backends(self.device, cfg.deterministic, cfg.seed)
        data_classes = len(D.folder_classes(cfg.data)) if cfg.data else None
        if is_trace_target(cfg.model):
            self.prep = prepare_target(cfg.model, cfg.input, cfg.classes, data_classes)
        else:
            self.prep = prepare_network(cfg.model, cfg.input, cfg.classes, data_classes,
                                        self.device.type)
        p = self.prep
        from .tasks import IMAGE, SUPPORTED
        self.task = task = p.task or IMAGE
        shape = "x".join(map(str, p.input_shape))
        if task.kind == "image" and len(p.input_shape) != 3:
            raise UsageError(f"{p.name}: the input is {shape}; {SUPPORTED}")
        if task.sequence and not self.lr_given:  # recurrent networks want larger steps
            from dataclasses import replace
            self.cfg = cfg = replace(cfg, lr=SEQUENCE_LR.get(cfg.optimizer, cfg.lr))
        world = self.dist.world
        self.echo(f"netviz train {p.name}: {task.io(p.input_shape, p.classes)}, "
                  f"{p.classes} classes, {p.params:,} parameters")
        for note in p.notes:
            self.echo(f"  note: {note}")
        t0 = time.perf_counter()
        if cfg.data:
            self.data = D.image_folder(cfg.data, p.input_shape, self.device)
        else:
            self.data = make_data(task, p.classes, p.input_shape, cfg, self.device)
        n = len(self.data.y_train)
        if cfg.batch_size * world > n:
            raise UsageError(f"--batch-size {cfg.batch_size}" + (f" x {world} processes" if world > 1
                             else "") + f" is larger than the {n} training {self.data.unit}: use a "
                             "smaller batch" + (" or more data" if cfg.data else " or --train-size"))
        self.steps_per_epoch = n // (cfg.batch_size * world)
        self.total = cfg.steps if cfg.steps is not None else cfg.epochs * self.steps_per_epoch
        self.time_planned = not self.length_given and cfg.max_time is not None
        self.echo(f"data: {self.data.describe()} (made in {time.perf_counter() - t0:.1f} s)")
        dev = device_name(self.device)
        per_step = p.macs * cfg.batch_size if p.macs else None
        heavy = per_step is None or per_step >= HEAVY_MACS_PER_STEP
        self.fp = fast_path(self.device, cfg.precision, cfg.compile, cfg.channels_last,
                            cfg.deterministic, heavy=heavy)
        if cfg.compile == "auto" and self.fp.compile:
            self.fp.compile = compile_pays(self.total * cfg.batch_size * world)
        threads = ""
        if self.device.type == "cpu":
            from .runtime import cpu_threads
            self.threads = cpu_threads(per_step)
            threads = f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        self.echo(f"device: {self.device} ({dev}), {self.fp.describe()}{threads}"
                  + (f", {world} processes" if world > 1 else ""))
        self.device_label = dev
        self.module = p.module.to(self.device)
        if self.fp.channels_last:
            self.module = self.module.to(memory_format=torch.channels_last)

    def settings(self) -> dict:
        cfg, p = self.cfg, self.prep
        return {"model": p.name, "task": self.task.kind, "input": list(p.input_shape),
                "classes": p.classes,
                "batch_size": cfg.batch_size, "world_size": self.dist.world, "seed": cfg.seed,
                "data": cfg.data or "procedural", "train_size": len(self.data.y_train),
                "val_size": len(self.data.y_val), "optimizer": cfg.optimizer, "lr": cfg.lr,
                "momentum": cfg.momentum, "weight_decay": cfg.weight_decay,
                "epochs": cfg.epochs, "steps": cfg.steps, "max_time": cfg.max_time,
                "threads": getattr(self, "threads", None),
                **self.fp.to_json()}

    # -- checks ----------------------------------------------------------------
    def checks(self):
        from .checks import OVERFIT_LR, OVERFIT_MAX_STEPS, OVERFIT_SEQUENCE_LR, run_and_report
        self.check_results = []
        if self.cfg.skip_checks:
            self.echo("checks skipped (--skip-checks): the shapes, gradients and overfit checks "
                      "were not run")
            return
        d = self.data
        n = min(len(d.y_train), 16)
        batch = (d.normalise(d.x_train[:n], self.fp.channels_last), d.target(d.y_train[:n]))
        results = run_and_report(self.module, self.prep.expected, batch, loss_function(self.task),
                                 self.fp.autocast, self.device, self.echo,
                                 self.cfg.progress if self.dist.main else "off",
                                 overfit_steps=self.cfg.overfit_steps or OVERFIT_MAX_STEPS,
                                 overfit_lr=OVERFIT_SEQUENCE_LR if self.task.sequence else OVERFIT_LR)
        self.check_results = [r.to_json() for r in results]
        failed = [r for r in results if not r.passed]
        if self.dist.enabled:  # every rank stops, or none: a rank alone would hang the others
            failed_ranks, = dd.all_sum([float(bool(failed))], self.dist, self.device)
            if failed_ranks and not failed:
                self.finish_metrics(stopped="check_failed")
                raise CheckFailed(f"a check failed in {failed_ranks:.0f} of the "
                                  f"{self.dist.world} processes")
        if failed:
            self.finish_metrics(stopped="check_failed")
            raise CheckFailed(f"check {failed[0].name} failed: {failed[0].detail.splitlines()[0]}"
                              + (" (table above)" if "\n" in failed[0].detail else ""))

    # -- the loop ----------------------------------------------------------------
    def run(self):
        import torch
        from . import data as D
        from .runtime import compiled, make_optimizer
        self.prepare()
        self.checks()
        cfg, dist, d = self.cfg, self.dist, self.data
        torch.manual_seed(cfg.seed * 7919 + 1 + dist.rank)  # dropout; differs between ranks
        model = dd.wrap(self.module, dist, self.device)
        model = compiled(model, self.fp, strict=cfg.compile == "on")
        opt = make_optimizer(self.module.parameters(), cfg.optimizer, cfg.lr, cfg.momentum,
                             cfg.weight_decay, self.device)
        step, clock = 0, 0.0
        if cfg.resume:
            step, clock = self.restore(opt)
        self.opt = opt
        B, world = cfg.batch_size, dist.world
        loss_fn = loss_function(self.task)
        cuda = self.device.type == "cuda"
        sync_every = 20 if cuda else 1
        progress = Progress(self.total, cfg.progress if dist.main else "off",
                            unit="seq/s" if self.task.sequence else "img/s")
        if self.time_planned:
            self.echo(f"training: {fmt_time(cfg.max_time)} (--max-time) or {self.total} steps of "
                      f"{B * world} {d.unit}, whichever ends first; {cfg.optimizer} lr {cfg.lr:g}, "
                      "decaying over that time" + (f"; resumed at step {step}" if step else ""))
        else:
            self.echo(f"training: {self.total} steps of {B * world} {d.unit}"
                      + (f" (at most {fmt_time(cfg.max_time)} by --max-time)" if cfg.max_time else "")
                      + f", {cfg.optimizer} lr {cfg.lr:g}" + (f"; resumed at step {step}" if step else ""))
        eval_n = min(len(d.y_val), 512)
        frac = self._frac(step, clock)
        evals_at = [(i + 1) / (cfg.evals + 1) for i in range(cfg.evals)]
        evals_at = [e for e in evals_at if e > frac]
        pending, marks, order, order_epoch = [], [(step, clock)], None, -1
        stopped, last_loss, last_acc = "steps", None, 0.0
        t_last = time.perf_counter()
        model.train()
        try:
            while step < self.total:
                epoch, pos = divmod(step, self.steps_per_epoch)
                if epoch != order_epoch:
                    order = D.epoch_order(len(d.y_train), epoch, cfg.seed).to(self.device)
                    order_epoch = epoch
                start = pos * B * world + dist.rank * B
                idx = order[start:start + B]
                x, y = d.normalise(d.x_train[idx], self.fp.channels_last), d.target(d.y_train[idx])
                lr = lr_at(step, self.total, cfg.lr, frac if self.time_planned else None)
                for g in opt.param_groups:
                    g["lr"] = lr
                with self.fp.autocast():
                    logits = model(x)
                    loss = loss_fn(logits.float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                step += 1
                pending.append(torch.stack([loss.detach().float(),
                                            (logits.detach().argmax(1) == y).float().mean()]))
                if len(pending) >= sync_every or step == self.total or self.on_step is not None:
                    now = time.perf_counter()
                    clock += now - t_last
                    t_last = now
                    last_loss, last_acc, clock = self.flush(pending, step, clock)
                    pending = []
                    marks.append((step, clock))
                    frac = self._frac(step, clock)
                    if step - marks[0][0] == ESTIMATE_AFTER and not cuda and step < self.total:
                        self._say_estimate(step, clock, marks[0])
                    progress.update(step, last_loss, last_acc, self._ips(marks[-2:], B * world),
                                    clock, lr, frac=frac, force=step == self.total)
                    if evals_at and evals_at[0] <= frac < 1:
                        while evals_at and evals_at[0] <= frac:
                            evals_at.pop(0)
                        acc, _, *conf = evaluate(self.module, d, d.x_val[:eval_n],
                                                 d.y_val[:eval_n], self.fp, dist,
                                                 confusion=self.task.dense)
                        self.history["val"].append([step, acc])
                        if conf:
                            self.history.setdefault("val_iou", []).append(
                                [step, mean_iou(conf[0])[0]])
                        t_last = time.perf_counter()  # evaluation is not training time
                    if cfg.max_time is not None and clock >= cfg.max_time and step < self.total:
                        stopped = "time" if self.time_planned else "max_time"
                        break
                if cfg.checkpoint_dir and cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    self.save(step, clock, gather=True)
                    t_last = time.perf_counter()
                if self.on_step is not None:
                    self.on_step(step, self.module)
        except KeyboardInterrupt:
            progress.close()
            where = ""
            if cfg.checkpoint_dir:
                where = f"; checkpoint saved to {self.save(step, clock, gather=False)}"
                where += " (continue with --resume)"
            self.finish_metrics(stopped="interrupted", steps=step, clock=clock, marks=marks)
            raise Interrupted(f"interrupted at step {step} of {self.total}{where}") from None
        progress.close()
        dd.average_buffers(self.module, dist)
        if stopped == "max_time":
            self.echo(f"stopped by --max-time at step {step} of {self.total}")
        if cfg.checkpoint_dir:
            self.save(step, clock, gather=True)
        return self.final(step, clock, marks, stopped)

    def _say_estimate(self, step, clock, start):
        per_step = (clock - start[1]) / (step - start[0])
        left = per_step * (self.total - step)
        if self.time_planned:
            left = min(left, max(0.0, self.cfg.max_time - clock))
        self.echo(f"estimated time: {fmt_time(left)} more for the remaining "
                  f"{self.total - step} steps, at the pace of the first {step - start[0]}")

    def _frac(self, step, clock):
        """How much of the run is done: by steps, or by time for runs fitted to --max-time."""
        done = step / max(1, self.total)
        if self.time_planned:
            done = max(done, clock / self.cfg.max_time)
        return min(1.0, done)

    def flush(self, pending, step, clock):
        """Bring the pending losses to the host (averaged over the ranks, with the
        slowest rank's clock, so that every rank takes the same decisions) and
        stop at the first one that is not finite."""
        import torch
        vals = torch.stack(pending).double()
        if self.dist.enabled:
            import torch.distributed as td
            td.all_reduce(vals)
            vals /= self.dist.world
            c = torch.tensor([clock], dtype=torch.float64, device=vals.device)
            td.all_reduce(c, op=td.ReduceOp.MAX)
            clock = float(c)
        rows = vals.tolist()
        first = step - len(rows) + 1
        for i, (loss, acc) in enumerate(rows):
            self.history["loss"].append(loss)
            if not math.isfinite(loss):
                self.finish_metrics(stopped="diverged", steps=first + i, clock=clock)
                raise Diverged(f"the loss became {loss} at step {first + i}: lower --lr "
                               f"(now {self.cfg.lr:g}), or check the data")
            self.history["train_acc"].append(acc)
        return rows[-1][0], sum(r[1] for r in rows) / len(rows), clock

    @staticmethod
    def _ips(marks, per_step):
        (s0, c0), (s1, c1) = marks[0], marks[-1]
        return (s1 - s0) * per_step / (c1 - c0) if c1 > c0 else 0.0

    # -- checkpoints ---------------------------------------------------------------
    def save(self, step, clock, gather):
        return ckpt.save_run(self, step, clock, gather)

    def restore(self, opt):
        return ckpt.restore_run(self, opt)

    # -- the end -------------------------------------------------------------------
    def final(self, step, clock, marks, stopped):
        d, dense = self.data, self.task.dense
        t0 = time.perf_counter()
        val_acc, val_loss, *val_conf = evaluate(self.module, d, d.x_val, d.y_val, self.fp,
                                                self.dist, confusion=dense)
        n = min(len(d.y_train), len(d.y_val))
        train_acc, train_loss, *train_conf = evaluate(self.module, d, d.x_train[:n], d.y_train[:n],
                                                      self.fp, self.dist, confusion=dense)
        final = {"train_accuracy": train_acc, "val_accuracy": val_acc,
                 "train_loss": train_loss, "val_loss": val_loss}
        iou = ""
        if dense:
            val_iou, per_class = mean_iou(val_conf[0])
            train_iou = mean_iou(train_conf[0])[0]
            final.update(val_mean_iou=val_iou, train_mean_iou=train_iou,
                         val_class_iou=per_class)
            if not self.history.get("val_iou") or self.history["val_iou"][-1][0] != step:
                self.history.setdefault("val_iou", []).append([step, val_iou])
            iou = (f"; mean IoU {100 * train_iou:.1f}% training, {100 * val_iou:.1f}% held-out "
                   f"(always the majority class: {100 * chance_mean_iou(d):.1f}%)")
        if not self.history["val"] or self.history["val"][-1][0] != step:
            self.history["val"].append([step, val_acc])
        in_sync = dd.params_in_sync(self.module, self.dist, self.device)
        chance = d.chance()
        self.finish_metrics(stopped=stopped, steps=step, clock=clock, marks=marks, final=final,
                            params_in_sync=in_sync, write=False)
        m = self.metrics
        unit = "seq/s" if self.task.sequence else "img/s"
        self.echo(f"done: {step} steps in {fmt_time(clock)}, {m['images_per_second']:,.0f} {unit}; "
                  f"{self.task.accuracy_name} {100 * train_acc:.1f}% training, "
                  f"{100 * val_acc:.1f}% held-out (chance {100 * chance:.1f}%"
                  + (", the majority class's share of the pixels" if dense else "") + ")" + iou
                  + f"  [evaluated in {time.perf_counter() - t0:.1f} s]"
                  + ("; checks skipped" if self.cfg.skip_checks else ""))
        if self.dist.main:
            self.write_outputs()
        if not in_sync:
            raise CheckFailed("the ranks' parameters differ after training")
        return m, self.module

    def finish_metrics(self, stopped, steps=0, clock=0.0, marks=None, final=None, write=True,
                       **extra):
        p = self.prep
        ips = 0.0
        if marks and len(marks) > 1:
            skip = min(len(marks) - 2, max(1, (len(marks) - 1) // 10))
            ips = self._ips(marks[skip:], self.cfg.batch_size * self.dist.world)
        final = final or {}
        task = getattr(self, "task", None)
        data = getattr(self, "data", None)
        dense = task is not None and task.dense
        self.metrics = {
            "model": p.name, "task": task.kind if task else None,
            "task_description": task.title if task else None,
            "accuracy_metric": task.accuracy_name if task else "accuracy",
            "input": list(p.input_shape),
            "input_reduced_from": list(p.reduced_from) if p.reduced_from else None,
            "classes": p.classes, "class_names": list(self.data.classes) if hasattr(self, "data") else [],
            "chance": data.chance() if data is not None else 1.0 / p.classes,
            "parameters": p.params, "notes": list(p.notes),
            "device": str(self.device), "device_name": getattr(self, "device_label", ""),
            "world_size": self.dist.world, "settings": self.settings() if hasattr(self, "data") else {},
            "checks": getattr(self, "check_results", []),
            "checks_skipped": self.cfg.skip_checks,
            "checks_passed": None if self.cfg.skip_checks else
            all(c["passed"] for c in getattr(self, "check_results", [])),
            "stopped": stopped, "steps": steps, "planned_steps": getattr(self, "total", 0),
            "epochs": steps / self.steps_per_epoch if hasattr(self, "steps_per_epoch") else 0,
            "train_seconds": clock, "images_per_second": ips,
            "train_accuracy": final.get("train_accuracy"), "val_accuracy": final.get("val_accuracy"),
            "train_loss": final.get("train_loss"), "val_loss": final.get("val_loss"),
            "loss_curve": self.history["loss"], "train_accuracy_curve": self.history["train_acc"],
            "val_curve": self.history["val"], **extra,
        }
        if dense and data is not None:
            self.metrics.update(dense_metrics(data, final, self.history))
        if write and self.dist.main:
            self.write_outputs()
        return self.metrics

    def write_outputs(self):
        write_outputs(self.cfg, self.metrics, self.echo)


__all__ = ["TrainConfig", "train", "Diverged", "Interrupted"]
