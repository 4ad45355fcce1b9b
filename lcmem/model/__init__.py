"""The model tier: ConvNeXt backbone, frozen VAE latents, the Siamese network and its bundle format."""
