"""relulab checkpoints in PyTorch and back: a model trained by `relulab train` and loaded with
relulab_torch.load_checkpoint gives `relulab eval --logits`'s outputs on Fashion-MNIST test
images; a model or state_dict saved by save_checkpoint is read by `relulab eval`; broken files
are clear errors."""
import gzip
import json
import os
import struct
import subprocess
import tempfile
import unittest

import torch

import relulab_torch
from relulab_torch import safetensors

CLI = os.environ.get("RELULAB_CLI", "relulab")
FASHION = "/usr/share/datasets/fashion-mnist"
EXAMPLES = 500
# (model, activation): every spec family relulab trains, with activations that take each path
# (fused, PReLU's own layer with per-channel slopes, parameters).
MODELS = [("mlp:64-32", "relu"), ("deep-mlp:4:16", "gelu_tanh"), ("cnn", "silu"),
          ("cnn:4-8-16", "prelu"), ("resnet:1", "leaky_relu"), ("mlp:24", "softplus")]


def test_images(count):
    """The first `count` Fashion-MNIST test images as relulab reads them: pixels / 255."""
    with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
        _, _, rows, cols = struct.unpack(">IIII", f.read(16))
        raw = f.read(count * rows * cols)
    pixels = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    return (pixels.to(torch.float32) / 255.0).reshape(count, 1, rows, cols)


def relulab(*args):
    result = subprocess.run([CLI, *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"relulab {' '.join(args)} exited {result.returncode}: "
                             f"{result.stderr}")
    return result.stdout


def evaluate(checkpoint, folder):
    """relulab eval's loss and its logits on the first EXAMPLES test images."""
    logits_path = os.path.join(folder, "logits.safetensors")
    out = json.loads(relulab("eval", checkpoint, "--test-limit", str(EXAMPLES), "--json",
                             "--logits", logits_path))
    tensors, _ = safetensors.read(logits_path)
    return out["loss"], tensors["logits"], tensors["labels"].to(torch.int64)


class Checkpoints(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="relulab-torch-")
        cls.images = test_images(EXAMPLES)
        cls.runs = {}
        for model, activation in MODELS:
            out = os.path.join(cls.folder.name, f"{model}-{activation}".replace(":", "_"))
            relulab("train", "--model", model, "--activation", activation, "--epochs", "1",
                    "--train-limit", "512", "--test-limit", "100", "--out", out)
            cls.runs[(model, activation)] = out

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def test_loaded_model_gives_relulab_eval_outputs(self):
        for (model, activation), out in self.runs.items():
            with self.subTest(f"{model} {activation}"):
                checkpoint = os.path.join(out, "checkpoint.safetensors")
                loss, logits, labels = evaluate(checkpoint, out)
                net, state = relulab_torch.load_checkpoint(checkpoint)
                self.assertFalse(net.training)
                self.assertEqual(set(state), set(net.state_dict()))
                with torch.no_grad():
                    ours = net(self.images)
                # Same weights, same float32 inputs; only the order of the sums differs.
                scale = logits.abs().max().item()
                torch.testing.assert_close(ours, logits, rtol=1e-5, atol=1e-5 * scale)
                ours_loss = torch.nn.functional.cross_entropy(ours.double(), labels).item()
                self.assertAlmostEqual(ours_loss, loss, delta=1e-5)

    def test_saved_model_is_read_by_relulab_eval_unchanged(self):
        for (model, activation), out in self.runs.items():
            with self.subTest(f"{model} {activation}"):
                checkpoint = os.path.join(out, "checkpoint.safetensors")
                loss, logits, _ = evaluate(checkpoint, out)
                net, _ = relulab_torch.load_checkpoint(checkpoint)
                again = os.path.join(out, "from-torch.safetensors")
                relulab_torch.save_checkpoint(net, again)
                loss_again, logits_again, _ = evaluate(again, out)
                self.assertTrue(torch.equal(logits, logits_again))  # the same bits
                self.assertEqual(loss, loss_again)

    def test_state_dict_trained_in_pytorch_is_read_by_relulab_eval(self):
        torch.manual_seed(10)
        norm = {"mean": [0.286], "stddev": [0.353]}
        net = relulab_torch.build_model("mlp:32", "silu", None, [1, 28, 28], 10, norm)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        labels = torch.arange(64) % 10
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(self.images[:64]), labels).backward()
            optimizer.step()
        path = os.path.join(self.folder.name, "pytorch.safetensors")
        relulab_torch.save_checkpoint(net.state_dict(), path, spec="mlp:32", activation="silu",
                                      input_shape=[1, 28, 28], num_classes=10,
                                      normalization=norm)
        _, logits, _ = evaluate(path, self.folder.name)
        with torch.no_grad():
            ours = net.eval()(self.images)
        torch.testing.assert_close(ours, logits, rtol=1e-5, atol=1e-5 * logits.abs().max().item())

    def test_broken_files_are_clear_errors(self):
        out = self.runs[("mlp:64-32", "relu")]
        blob = open(os.path.join(out, "checkpoint.safetensors"), "rb").read()
        path = os.path.join(self.folder.name, "broken.safetensors")
        flipped = bytearray(blob)
        flipped[-3] ^= 0x40
        cases = [(bytes(flipped), "CRC-32"), (blob[:len(blob) // 2], "corrupt or truncated"),
                 (blob[:5], "too short")]
        for data, message in cases:
            with self.subTest(message):
                with open(path, "wb") as f:
                    f.write(data)
                with self.assertRaisesRegex(ValueError, message):
                    relulab_torch.load_checkpoint(path)
        safetensors.write(path, {"x": torch.ones(3)})
        with self.assertRaisesRegex(ValueError, "not a relulab checkpoint"):
            relulab_torch.load_checkpoint(path)
        net, state = relulab_torch.load_checkpoint(os.path.join(out, "checkpoint.safetensors"))
        del state["2.weight"]
        with self.assertRaisesRegex(ValueError, "has no '2.weight'"):
            relulab_torch.save_checkpoint(state, path, spec="mlp:64-32", activation="relu",
                                          input_shape=[1, 28, 28], num_classes=10)
        state["2.weight"] = torch.ones(3, 3)
        with self.assertRaisesRegex(ValueError, "shape"):
            relulab_torch.save_checkpoint(state, path, spec="mlp:64-32", activation="relu",
                                          input_shape=[1, 28, 28], num_classes=10)
        with self.assertRaisesRegex(ValueError, "JSON specs"):
            relulab_torch.build_model('{"layers": []}')


class Safetensors(unittest.TestCase):
    def test_round_trip_of_every_dtype_and_empty_tensors(self):
        tensors = {"f32": torch.randn(2, 3), "f64": torch.randn(4, dtype=torch.float64),
                   "f16": torch.randn(5).half(), "bf16": torch.randn(3, 1).bfloat16(),
                   "empty": torch.ones(0, 4), "scalar": torch.tensor(2.5)}
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "t.safetensors")
            safetensors.write(path, tensors, {"note": "hi"})
            back, metadata = safetensors.read(path)
            self.assertEqual(metadata["note"], "hi")
            self.assertIn("relulab.crc32", metadata)
            self.assertEqual(list(back), list(tensors))
            for name, tensor in tensors.items():
                self.assertEqual(back[name].dtype, tensor.dtype)
                self.assertTrue(torch.equal(back[name], tensor), name)
            with open(path, "rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
            self.assertEqual(length % 8, 0)  # relulab's writer aligns the data section


if __name__ == "__main__":
    unittest.main()
