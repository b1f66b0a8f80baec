"""vaegan-vc: many-to-many VAE-GAN voice conversion and timbre transfer."""

__version__ = "0.1.0"


def load(model, vocoder=None, vocoder_checkpoint=None, device="cpu"):
    """A run folder or model folder → a `VoiceConverter` with `.speakers` and `.convert(wav, sr, target)`.

    Imported lazily, so that `import vaegan_vc` stays cheap for the command line.
    """
    from .api import load as _load

    return _load(model, vocoder, vocoder_checkpoint, device)
