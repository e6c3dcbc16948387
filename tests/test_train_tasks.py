"""netviz train beyond image classifiers: sequence classifiers (token ids into an
embedding, float series) and segmenters (a class per pixel), on procedural data
made on the device; and the one-line refusal of what it cannot train.

The networks are tiny variants of examples/lstm.yaml and examples/unet.yaml,
trained for a fixed number of steps from a fixed seed on one thread: every run
is the same run, and its held-out accuracy is asserted far above chance.
"""
from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from netviz.errors import UsageError  # noqa: E402
from netviz.train import Interrupted, TrainConfig, train  # noqa: E402
from netviz.train import data as D  # noqa: E402
from netviz.train import sequences as S  # noqa: E402
from netviz.train.tasks import mean_iou  # noqa: E402

TOKENS = """\
name: tinylstm
input: 12
layers:
  - embedding: {num: 16, dim: 16, padding_idx: 0}
  - lstm: {hidden: 16, bidirectional: true, last: true}
  - dropout: 0.1
  - fc: 4
  - softmax
"""

SERIES = """\
name: tinygru
input: 24x3
layers:
  - gru: {hidden: 16, last: true}
  - fc: 4
"""

UNET = """\
name: tinyunet
input: 1x32x32
layers:
  - conv: {name: e1, out: 8, kernel: 3, pad: 1}
  - relu: {name: enc1}
  - maxpool: {name: p1, kernel: 2}
  - conv: {name: e2, out: 16, kernel: 3, pad: 1}
  - relu: {name: enc2}
  - maxpool: {name: p2, kernel: 2}
  - conv: {name: mid, out: 16, kernel: 3, pad: 1}
  - relu
  - deconv: {name: up2, out: 16, kernel: 2, stride: 2}
  - concat: {name: cat2, inputs: [up2, enc2]}
  - conv: {name: d2, out: 16, kernel: 3, pad: 1}
  - relu
  - deconv: {name: up1, out: 8, kernel: 2, stride: 2}
  - concat: {name: cat1, inputs: [up1, enc1]}
  - conv: {name: d1, out: 8, kernel: 3, pad: 1}
  - relu
  - conv: {name: head, out: CLASSES, kernel: 1}
"""


def _spec(tmp_path, text, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def _run(model, tmp_path, **kw):
    options = dict(device="cpu", progress="off", seed=3, train_size=1024, val_size=256,
                   metrics=str(tmp_path / "m.json"), plot=str(tmp_path / "m.png"))
    options.update(kw)
    lines = []
    metrics, module = train(TrainConfig(model, **options), echo=lines.append)
    with open(tmp_path / "m.json", encoding="utf-8") as fh:
        assert json.load(fh)["val_accuracy"] == metrics["val_accuracy"]
    return metrics, module, "\n".join(lines)


# -- the data ----------------------------------------------------------------------------------

def test_token_sequences_label_the_most_frequent_marker():
    d = S.tokens(4, 12, 16, 400, 100, seed=5, padding_idx=0)
    again = S.tokens(4, 12, 16, 400, 100, seed=5, padding_idx=0)
    other = S.tokens(4, 12, 16, 400, 100, seed=6, padding_idx=0)
    assert torch.equal(d.x_train, again.x_train) and torch.equal(d.y_val, again.y_val)
    assert not torch.equal(d.x_train, other.x_train)
    assert d.x_train.shape == (400, 12) and d.x_train.dtype == torch.int64
    assert torch.bincount(d.y_train).tolist() == [100] * 4  # balanced
    x = torch.cat([d.x_train, d.x_val])
    y = torch.cat([d.y_train, d.y_val])
    assert int(x.min()) >= 1 and int(x.max()) <= 15  # the padding token 0 never occurs
    markers = [1, 2, 3, 4]
    counts = torch.stack([(x == m).sum(1) for m in markers], 1)
    top = counts.max(1)
    assert torch.equal(top.indices, y)
    assert bool(((counts == top.values[:, None]).sum(1) == 1).all())  # a strict majority
    assert bool((counts.sum(1) <= 6).all())  # markers fill at most half


def test_token_vocabulary_too_small_is_one_line():
    with pytest.raises(UsageError, match="vocabulary of 5 tokens is too small for 4 classes"):
        S.tokens(4, 12, 5, 10, 10, seed=0, padding_idx=0)


def test_series_class_is_the_dominant_frequency():
    d = S.series(4, (24, 3), 400, 200, seed=1)
    assert torch.equal(d.x_val, S.series(4, (24, 3), 400, 200, seed=1).x_val)
    assert d.x_train.shape == (400, 24, 3) and d.x_train.dtype == torch.float32
    freqs = torch.tensor(S.frequencies(24, 4))
    spectrum = torch.fft.rfft(d.x_val, dim=1).abs().sum(2)  # [N, 13]: cycles per sequence
    peak = spectrum[:, 1:].argmax(1).float() + 1
    nearest = (peak[:, None] - freqs[None]).abs().argmin(1)
    assert float((nearest == d.y_val).float().mean()) > 0.9


@pytest.mark.parametrize("classes", [2, 5])
def test_segmentation_masks_are_the_figures(classes):
    d = D.segmentation(classes, (3, 32, 32), 64, 64, seed=2)
    again = D.segmentation(classes, (3, 32, 32), 64, 64, seed=2)
    assert torch.equal(d.x_train, again.x_train) and torch.equal(d.y_train, again.y_train)
    assert d.x_train.shape == (64, 3, 32, 32) and d.y_train.shape == (64, 32, 32)
    assert d.num_classes == classes and d.classes[0] == "background"
    labels = set(torch.unique(torch.cat([d.y_train, d.y_val])).tolist())
    assert labels == set(range(classes))
    for i in range(8):  # background and at most two figures per image
        assert len(torch.unique(d.y_train[i])) <= 3
    # figures are brighter than the background (tint at most 0.3, figures 0.3 or more)
    x = d.x_train.float().amax(1)
    fg, bg = x[d.y_train > 0].mean(), x[d.y_train == 0].mean()
    assert fg > bg + 60
    shares = torch.bincount(d.y_val.reshape(-1).long(), minlength=classes).double()
    assert d.chance() == pytest.approx(float(shares.max() / shares.sum()))
    assert 0.5 < d.chance() < 0.9  # background is the majority, far from all of it


def test_mean_iou_from_a_confusion_matrix():
    value, per_class = mean_iou([[8, 2, 0], [1, 4, 0], [0, 0, 0]])
    assert per_class[0] == pytest.approx(8 / 11) and per_class[1] == pytest.approx(4 / 7)
    assert per_class[2] is None and value == pytest.approx((8 / 11 + 4 / 7) / 2)


# -- training ----------------------------------------------------------------------------------

def test_token_lstm_learns_far_above_chance(tmp_path):
    spec = _spec(tmp_path, TOKENS, "tokens")
    m, _, out = _run(spec, tmp_path, steps=200)
    assert m["task"] == "tokens" and m["classes"] == 4 and m["chance"] == 0.25
    assert m["checks_passed"] and [c["name"] for c in m["checks"]] == ["shapes", "gradients",
                                                                        "overfit"]
    assert m["settings"]["lr"] == 0.2  # the sequence models' default
    assert m["val_accuracy"] >= 0.8, out  # chance 25%; 100% measured
    assert "input 12 token ids of 16" in out and "seq/s" in out
    assert "the class is the most frequent of 4 marker tokens" in out
    assert "held-out sequences" in out
    assert (tmp_path / "m.png").stat().st_size > 0


def test_series_gru_learns_far_above_chance(tmp_path):
    spec = _spec(tmp_path, SERIES, "series")
    m, _, out = _run(spec, tmp_path, steps=200)
    assert m["task"] == "series" and m["chance"] == 0.25 and m["checks_passed"]
    assert m["val_accuracy"] >= 0.6, out  # chance 25%; 88% measured


def test_unet_segments_far_above_chance(tmp_path):
    spec = _spec(tmp_path, UNET.replace("CLASSES", "2"), "unet")
    m, module, out = _run(spec, tmp_path, steps=120, train_size=512, val_size=128)
    assert m["task"] == "segment" and m["accuracy_metric"] == "pixel accuracy"
    assert m["checks_passed"] and m["checks"][2]["name"] == "overfit"
    assert m["checks"][2]["passed"] and m["checks"][2]["last_loss"] < 0.05
    # chance is the majority class's share of the held-out pixels
    d = D.segmentation(2, (1, 32, 32), 512, 128, seed=3)
    assert m["chance"] == pytest.approx(d.chance())
    assert m["class_pixel_share"] == pytest.approx(d.pixel_shares())
    assert m["val_accuracy"] >= m["chance"] + 0.12, out
    assert m["val_mean_iou"] >= 0.6 and m["chance_mean_iou"] < 0.45, out  # 74% measured
    # the reported pixel accuracy and IoU are the trained module's on the held-out images
    with torch.no_grad():
        module.eval()
        pred = module(d.normalise(d.x_val)).argmax(1)
    target = d.y_val.long()
    assert float((pred == target).float().mean()) == pytest.approx(m["val_accuracy"], abs=1e-6)
    inter = [float(((pred == c) & (target == c)).sum()) for c in (0, 1)]
    union = [float(((pred == c) | (target == c)).sum()) for c in (0, 1)]
    assert m["val_mean_iou"] == pytest.approx(sum(i / u for i, u in zip(inter, union)) / 2)
    assert "pixel accuracy" in out and "mean IoU" in out and "output 2x32x32 (segmentation)" in out
    assert m["val_iou_curve"][-1][0] == m["steps"]


def test_segmenter_with_several_classes_learns(tmp_path):
    spec = _spec(tmp_path, UNET.replace("CLASSES", "4"), "unet4")
    m, _, out = _run(spec, tmp_path, steps=120, train_size=512, val_size=128, skip_checks=True,
                     input="3x32x32")
    assert m["classes"] == 4 and len(m["val_class_iou"]) == 4
    assert m["val_accuracy"] >= m["chance"] + 0.12, out
    assert m["val_mean_iou"] >= 2 * m["chance_mean_iou"], out


def test_an_interrupted_sequence_run_resumes_as_the_same_run(tmp_path):
    spec = _spec(tmp_path, TOKENS, "tokens")
    quiet = lambda *a, **k: None  # noqa: E731
    base = dict(device="cpu", progress="off", deterministic=True, train_size=64, val_size=16,
                batch_size=16, steps=12, skip_checks=True, seed=5)
    m_straight, straight = train(TrainConfig(spec, **base), echo=quiet)

    def ctrl_c_at_6(step, _module):
        if step == 6:
            raise KeyboardInterrupt

    ck = str(tmp_path / "ck")
    with pytest.raises(Interrupted, match="interrupted at step 6 of 12; checkpoint saved"):
        train(TrainConfig(spec, checkpoint_dir=ck, **base), echo=quiet, on_step=ctrl_c_at_6)
    assert torch.load(tmp_path / "ck" / "last.pt", weights_only=True)["settings"]["task"] == "tokens"
    m_resumed, resumed = train(TrainConfig(spec, checkpoint_dir=ck, resume=True, **base), echo=quiet)
    a, b = straight.state_dict(), resumed.state_dict()
    for key in a:  # 12 steps of 16 over 64 sequences: three epochs, with dropout and momentum
        assert torch.equal(a[key], b[key]), key
    assert m_resumed["loss_curve"] == m_straight["loss_curve"] and m_resumed["epochs"] == 3.0


# -- what is refused ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec,options,message", [
    ("name: half\ninput: 1x32x32\nlayers:\n  - conv: {out: 2, kernel: 3, stride: 2, pad: 1}\n",
     {}, "half: the output 2x16x16 is neither a vector of class scores nor a map at the "
         "input's 32x32; netviz train trains classifiers"),
    ("name: one\ninput: 1x32x32\nlayers:\n  - conv: {out: 1, kernel: 3, pad: 1}\n",
     {}, "has one channel; a segmenter needs a channel per class"),
    ("name: flat\ninput: 12\nlayers:\n  - fc: 4\n",
     {}, "flat: the input 12 is read by fc, not an embedding"),
    ("name: steps\ninput: 12x3\nlayers:\n  - lstm: 8\n  - fc: 4\n",
     {}, "steps: the output of a sequence model is 12x4, not a vector of class scores"),
    (TOKENS, {"classes": 20}, "vocabulary of 16 tokens is too small for 20 classes"),
    (UNET.replace("CLASSES", "2"), {"classes": 3}, "--classes 3: the classes of tinyunet are "
                                                   "its 2 output channels"),
])
def test_unsupported_is_refused_in_one_line(tmp_path, spec, options, message):
    path = _spec(tmp_path, spec, "net")
    with pytest.raises(UsageError) as info:
        train(TrainConfig(path, steps=1, device="cpu", progress="off", train_size=32, val_size=8,
                          metrics=str(tmp_path / "m.json"), **options), echo=lambda *a: None)
    text = str(info.value)
    assert message in text and "\n" not in text
    assert not (tmp_path / "m.json").exists()


def test_cli_refuses_data_for_a_sequence_model(cli, tmp_path):
    path = _spec(tmp_path, TOKENS, "tokens")
    data = tmp_path / "data"
    for split in ("train", "val"):
        for cls in ("a", "b"):
            (data / split / cls).mkdir(parents=True)
            from PIL import Image
            Image.new("RGB", (8, 8)).save(data / split / cls / "x.png")
    res = cli("train", path, "--data", data, "--steps", "1", "--no-plot")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines() == [
        "netviz: --data holds labelled images for classification; tinylstm is trained for "
        "sequence classification (token ids) on procedural data only: leave out --data"]


# -- DDP ---------------------------------------------------------------------------------------

WORKER = """\
import json, os, sys
import torch
from netviz.train import TrainConfig, train

out, spec = sys.argv[1], sys.argv[2]
rank = int(os.environ["RANK"])
metrics, module = train(TrainConfig(model=spec, steps=6, batch_size=8, train_size=64, val_size=24,
                                    device="cpu", progress="off", seed=1))
torch.save(module.state_dict(), os.path.join(out, f"rank{rank}.pt"))
if rank == 0:
    with open(os.path.join(out, "metrics.json"), "w") as fh:
        json.dump(metrics, fh)
"""


@pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")
def test_a_segmenter_trains_under_torchrun_with_the_iou_of_all_ranks(tmp_path):
    import os
    import subprocess
    import sys
    spec = _spec(tmp_path, UNET.replace("CLASSES", "3").replace("1x32x32", "1x16x16"), "unet")
    (tmp_path / "worker.py").write_text(WORKER)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           str(tmp_path / "worker.py"), str(tmp_path), spec]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    for key in s0:
        assert torch.equal(s0[key], s1[key]), key
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["world_size"] == 2 and m["params_in_sync"] and m["checks_passed"]
    # each rank evaluated half of the held-out images: the sums cover them all
    from netviz.build import build
    module = build(spec)
    module.load_state_dict(s0)
    module.eval()
    d = D.segmentation(3, (1, 16, 16), 64, 24, seed=1)
    with torch.no_grad():
        pred = module(d.normalise(d.x_val)).argmax(1)
    target = d.y_val.long()
    assert m["val_accuracy"] == pytest.approx(float((pred == target).float().mean()), abs=1e-6)
    conf = [[float(((target == a) & (pred == b)).sum()) for b in range(3)] for a in range(3)]
    assert m["val_mean_iou"] == pytest.approx(mean_iou(conf)[0], abs=1e-6)
