"""HiFi-GAN: model.py (generators V1/V2/V3, MPD and MSD), losses.py, load.py (pretrained and trained weights), train.py."""
