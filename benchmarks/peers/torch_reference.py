"""The PyTorch reference implementation's CycleGAN and pix2pix steps (benchmark only).

Written here from the structure of the authors' PyTorch code (pytorch-CycleGAN-and-pix2pix):
ResNet-9 generator with reflection padding and `InstanceNorm2d` (no affine, biases on), the
n-layer PatchGAN, LSGAN losses, an image pool of 50, one Adam over both generators and one over
both discriminators, and the update order G then D; pix2pix's U-Net 256 with batch norm and
dropout, the conditional PatchGAN with batch norm, vanilla GAN + 100 L1, D then G.

`torch` is optional (`pip install -e '.[bench]'`); `available()` says whether it is installed.
The training steps take `device` ("cpu" by default; "cuda" for `benchmarks/gpu_peers.py`).
"""

from __future__ import annotations

import importlib.util
import random


def available():
    return importlib.util.find_spec("torch") is not None


def _modules():
    import torch
    from torch import nn

    return torch, nn


def resnet_generator(filters=64, blocks=9):
    _, nn = _modules()
    norm = nn.InstanceNorm2d

    class ResnetBlock(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1),
                nn.Conv2d(width, width, 3, bias=True),
                norm(width),
                nn.ReLU(True),
                nn.ReflectionPad2d(1),
                nn.Conv2d(width, width, 3, bias=True),
                norm(width),
            )

        def forward(self, x):
            return x + self.body(x)

    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, filters, 7), norm(filters), nn.ReLU(True)]
    width = filters
    for _ in range(2):
        layers += [nn.Conv2d(width, 2 * width, 3, 2, 1), norm(2 * width), nn.ReLU(True)]
        width *= 2
    layers += [ResnetBlock(width) for _ in range(blocks)]
    for _ in range(2):
        layers += [
            nn.ConvTranspose2d(width, width // 2, 3, 2, 1, output_padding=1),
            norm(width // 2),
            nn.ReLU(True),
        ]
        width //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 3, 7), nn.Tanh()]
    return nn.Sequential(*layers)


def patch_discriminator(channels=3, filters=64, num_layers=3, batch_norm=False):
    _, nn = _modules()
    norm = nn.BatchNorm2d if batch_norm else nn.InstanceNorm2d
    bias = not batch_norm
    layers = [nn.Conv2d(channels, filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    width = filters
    for index in range(1, num_layers + 1):
        new = filters * min(2**index, 8)
        stride = 2 if index < num_layers else 1
        layers += [
            nn.Conv2d(width, new, 4, stride, 1, bias=bias),
            norm(new),
            nn.LeakyReLU(0.2, True),
        ]
        width = new
    layers += [nn.Conv2d(width, 1, 4, 1, 1)]
    return nn.Sequential(*layers)


def unet_generator(downsamplings=8, filters=64):
    torch, nn = _modules()

    class Block(nn.Module):
        def __init__(self, outer, inner, submodule=None, outermost=False, dropout=False):
            super().__init__()
            self.outermost = outermost
            down = nn.Conv2d(3 if outermost else outer, inner, 4, 2, 1, bias=False)
            if outermost:
                up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
                model = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
            elif submodule is None:  # innermost
                up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False)
                model = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, nn.BatchNorm2d(outer)]
            else:
                up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False)
                model = [
                    nn.LeakyReLU(0.2, True),
                    down,
                    nn.BatchNorm2d(inner),
                    submodule,
                    nn.ReLU(True),
                    up,
                    nn.BatchNorm2d(outer),
                ]
                if dropout:
                    model.append(nn.Dropout(0.5))
            self.model = nn.Sequential(*model)

        def forward(self, x):
            return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)

    deep = filters * 8
    block = Block(deep, deep)
    for _ in range(downsamplings - 5):
        block = Block(deep, deep, block, dropout=True)
    block = Block(filters * 4, deep, block)
    block = Block(filters * 2, filters * 4, block)
    block = Block(filters, filters * 2, block)
    return Block(3, filters, block, outermost=True)


class ImagePool:
    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, images):
        torch, _ = _modules()
        out = []
        for image in images:
            image = image.unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                index = random.randint(0, self.size - 1)
                out.append(self.images[index].clone())
                self.images[index] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


class CycleGANStep:
    """`step()` runs one CycleGAN iteration (G_A and G_B, then D_A and D_B) on fixed inputs."""

    def __init__(self, size, filters=64, blocks=9, batch_size=1, threads=None, device="cpu"):
        torch, nn = _modules()
        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch = torch
        self.g_a, self.g_b = resnet_generator(filters, blocks), resnet_generator(filters, blocks)
        self.d_a, self.d_b = patch_discriminator(3, filters), patch_discriminator(3, filters)
        for network in (self.g_a, self.g_b, self.d_a, self.d_b):
            network.to(device)
        self.opt_g = torch.optim.Adam(
            [*self.g_a.parameters(), *self.g_b.parameters()], 2e-4, betas=(0.5, 0.999)
        )
        self.opt_d = torch.optim.Adam(
            [*self.d_a.parameters(), *self.d_b.parameters()], 2e-4, betas=(0.5, 0.999)
        )
        self.pool_a, self.pool_b = ImagePool(), ImagePool()
        self.mse, self.l1 = nn.MSELoss(), nn.L1Loss()
        self.real_a = (torch.rand(batch_size, 3, size, size) * 2 - 1).to(device)
        self.real_b = (torch.rand(batch_size, 3, size, size) * 2 - 1).to(device)

    def _gan(self, prediction, real):
        target = self.torch.ones_like(prediction) if real else self.torch.zeros_like(prediction)
        return self.mse(prediction, target)

    def _set_requires_grad(self, networks, flag):
        for network in networks:
            for parameter in network.parameters():
                parameter.requires_grad = flag

    def step(self):
        real_a, real_b = self.real_a, self.real_b
        fake_b = self.g_a(real_a)
        rec_a = self.g_b(fake_b)
        fake_a = self.g_b(real_b)
        rec_b = self.g_a(fake_a)
        self._set_requires_grad([self.d_a, self.d_b], False)
        self.opt_g.zero_grad()
        identity = self.l1(self.g_a(real_b), real_b) + self.l1(self.g_b(real_a), real_a)
        loss_g = (
            self._gan(self.d_a(fake_b), True)
            + self._gan(self.d_b(fake_a), True)
            + 10 * (self.l1(rec_a, real_a) + self.l1(rec_b, real_b))
            + 5 * identity
        )
        loss_g.backward()
        self.opt_g.step()
        self._set_requires_grad([self.d_a, self.d_b], True)
        self.opt_d.zero_grad()
        for network, real, fake in (
            (self.d_a, real_b, self.pool_b.query(fake_b)),
            (self.d_b, real_a, self.pool_a.query(fake_a)),
        ):
            loss_d = 0.5 * (
                self._gan(network(real), True) + self._gan(network(fake.detach()), False)
            )
            loss_d.backward()
        self.opt_d.step()
        return float(loss_g.detach())


class Pix2PixStep:
    """`step()` runs one pix2pix iteration (D, then G) on fixed inputs."""

    def __init__(self, size, filters=64, downsamplings=8, batch_size=1, threads=None, device="cpu"):
        torch, nn = _modules()
        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(0)
        self.torch = torch
        self.g = unet_generator(downsamplings, filters).to(device)
        self.d = patch_discriminator(6, filters, batch_norm=True).to(device)
        self.opt_g = torch.optim.Adam(self.g.parameters(), 2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), 2e-4, betas=(0.5, 0.999))
        self.bce, self.l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
        self.real_a = (torch.rand(batch_size, 3, size, size) * 2 - 1).to(device)
        self.real_b = (torch.rand(batch_size, 3, size, size) * 2 - 1).to(device)

    def step(self):
        torch = self.torch
        fake_b = self.g(self.real_a)
        for parameter in self.d.parameters():
            parameter.requires_grad = True
        self.opt_d.zero_grad()
        pred_fake = self.d(torch.cat([self.real_a, fake_b], 1).detach())
        pred_real = self.d(torch.cat([self.real_a, self.real_b], 1))
        loss_d = 0.5 * (
            self.bce(pred_fake, torch.zeros_like(pred_fake))
            + self.bce(pred_real, torch.ones_like(pred_real))
        )
        loss_d.backward()
        self.opt_d.step()
        for parameter in self.d.parameters():
            parameter.requires_grad = False
        self.opt_g.zero_grad()
        pred_fake = self.d(torch.cat([self.real_a, fake_b], 1))
        loss_g = self.bce(pred_fake, torch.ones_like(pred_fake)) + 100 * self.l1(
            fake_b, self.real_b
        )
        loss_g.backward()
        self.opt_g.step()
        return float(loss_g.detach())


class _Inference:
    """`step()` runs a generator in eval mode without gradients on a fixed batch."""

    def __init__(self, network, size, batch_size, threads):
        torch, _ = _modules()
        if threads:
            torch.set_num_threads(threads)
        self.torch = torch
        self.network = network.eval()
        self.images = torch.rand(batch_size, 3, size, size) * 2 - 1

    def step(self):
        with self.torch.inference_mode():
            return self.network(self.images)[0, 0, 0, 0].item()


class UNetInference(_Inference):
    def __init__(self, size, filters=64, downsamplings=8, batch_size=1, threads=None):
        _modules()[0].manual_seed(0)
        super().__init__(unet_generator(downsamplings, filters), size, batch_size, threads)


class ResnetInference(_Inference):
    def __init__(self, size, filters=64, blocks=9, batch_size=1, threads=None):
        _modules()[0].manual_seed(0)
        super().__init__(resnet_generator(filters, blocks), size, batch_size, threads)
