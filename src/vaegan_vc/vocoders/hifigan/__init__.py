"""HiFi-GAN: model.py (generators V1/V2/V3, MPD and MSD), losses.py, load.py (pretrained and trained
weights), settings.py + train.py (vaegan-vc vocoder train), finetune.py (matching it to a VAE-GAN)."""
