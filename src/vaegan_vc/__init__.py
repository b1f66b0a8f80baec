"""vaegan-vc: many-to-many VAE-GAN voice conversion and timbre transfer."""

__version__ = "0.1.0"


def load(model, vocoder=None, vocoder_checkpoint=None, device="cpu", runtime="torch"):
    """A run folder, model folder or bundled model's name → a `VoiceConverter` with `.speakers`,
    `.convert(wav, sr, target)` and `.stream(blocks, sr, target)`; runtime "onnx" runs an
    `export --onnx` folder with onnxruntime.

    Imported lazily, so that `import vaegan_vc` stays cheap for the command line.
    """
    from .api import load as _load

    return _load(model, vocoder, vocoder_checkpoint, device, runtime)
