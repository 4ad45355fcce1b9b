"""Training: labelled data, pair sampling, augmentations, the LCMem loss, the VAE and both stages."""
