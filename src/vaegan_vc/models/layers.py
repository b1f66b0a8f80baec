"""Building blocks shared by the encoder, generators and discriminators."""

from __future__ import annotations

from torch import Tensor, nn


def conv_norm_act(
    c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, norm: bool = True,
) -> nn.Sequential:
    """Conv2d → InstanceNorm (optional) → LeakyReLU(0.2)."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, padding)]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


class ResBlock(nn.Module):
    """Two reflect-padded 3×3 convs with instance norm and an identity skip. [B, C, H, W] → same."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.LeakyReLU(0.2),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)
