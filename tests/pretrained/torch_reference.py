"""A release's reference model in PyTorch, run in a process of its own (torchvision and timm crash a process
that imported TensorFlow first): seeded random weights with randomised batch-norm statistics, saved in the
release's own file format, its outputs on given images, and its top-5 on a photo through torchvision's own
evaluation transform.

    python torch_reference.py KIND MODEL OUT_DIR RESIZE CROP PHOTO

reads OUT_DIR/x.npy (NHWC float32), writes OUT_DIR/weights.pth or .safetensors and OUT_DIR/reference.npz.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def build(kind: str, name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "timm":
        import timm

        return timm.create_model(name, pretrained=False)
    import torchvision

    releases_transform_input = ("inception_v3", "googlenet")  # their releases convert their input themselves
    extra = (
        {"aux_logits": True, "init_weights": True, "transform_input": True} if name in releases_transform_input else {}
    )
    return getattr(torchvision.models, name)(weights=None, **extra)


def main(kind: str, name: str, out: str, resize: str, crop: str, photo: str) -> None:
    from PIL import Image
    from torchvision.transforms._presets import ImageClassification

    folder = Path(out)
    model = randomised(build(kind, name))
    transform_input = getattr(model, "transform_input", False)  # torchvision's Inception v3 and GoogLeNet: True
    image = ImageClassification(crop_size=int(crop), resize_size=int(resize))(Image.open(photo).convert("RGB"))
    with torch.no_grad():  # logits of a few units, so that the top-5 probabilities are not all 0 after softmax
        last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        spread = float(model(image[None]).std())
        last.weight.data /= spread / 2
        last.bias.data /= spread / 2
    if kind == "timm":
        from safetensors.torch import save_file

        save_file(model.state_dict(), str(folder / "weights.safetensors"))
    else:
        torch.save(model.state_dict(), folder / "weights.pth")
    x = torch.from_numpy(np.load(folder / "x.npy").transpose(0, 3, 1, 2))
    with torch.no_grad():
        if transform_input:
            model.transform_input = False  # raw inputs, as kzoo's raw model takes them
        raw = model(x).numpy()
        model.transform_input = transform_input
        scores = model(image[None]).numpy()[0]
    np.savez(folder / "reference.npz", raw=raw, top5=np.argsort(-scores)[:5], scores=scores)


if __name__ == "__main__":
    main(*sys.argv[1:])
