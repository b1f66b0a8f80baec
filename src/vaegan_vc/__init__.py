"""vaegan-vc: many-to-many VAE-GAN voice conversion and timbre transfer."""

__version__ = "0.1.0"
